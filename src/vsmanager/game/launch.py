"""How the game is launched: the checks before, and the command line that gives it only
its console (fds 0, 1 and 2)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

# uvloop's spawn leaves the child copies of its own pipe ends (above fd 2): a game that closes
# stdin would still hold its read end, so vsmanager never sees it close, and a leftover
# process could hold the console. preexec_fn cannot help (it runs before uvloop's dup2), so a
# few lines of Python close everything above 2 and exec the game in the same process.
_EXEC_WITH_FDS_0_TO_2 = (
    "import os, sys\n"
    "os.closerange(3, os.sysconf('SC_OPEN_MAX'))\n"
    "try:\n"
    "    os.execvp(sys.argv[1], sys.argv[1:])\n"
    "except OSError as exc:\n"
    "    print(f'vsmanager: cannot run {sys.argv[1]!r}: {exc.strerror}', file=sys.stderr)\n"
    "    os._exit(127)\n"
)


def launch_argv(argv: list[str]) -> list[str]:
    """``argv`` run through the fd-closing exec (same pid: the game replaces it)."""
    return [sys.executable, "-I", "-S", "-c", _EXEC_WITH_FDS_0_TO_2, *argv]


def executable_problem(program: str, cwd: Path | None, path: str | None) -> str | None:
    """Why ``program`` cannot be run (as the game's working directory and PATH see it), or
    None if it can."""
    if "/" not in program:
        if shutil.which(program, path=path) is None:
            return f"{program!r} was not found on PATH (or is not executable)"
        return None
    candidate = Path(program)
    if not candidate.is_absolute():
        candidate = (cwd or Path.cwd()) / candidate
    if not candidate.exists():
        return f"{program!r} does not exist"
    if candidate.is_dir():
        return f"{program!r} is a directory, not a program"
    if not os.access(candidate, os.X_OK):
        return f"{program!r} is not executable (chmod +x it, or run it through its interpreter)"
    return None
