"""How the game is launched: the checks before, and the command line that gives it only
its console (fds 0, 1 and 2)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from vsmanager.game import exec_shim

# uvloop's spawn leaves the child copies of its own pipe ends (above fd 2): a game that closes
# stdin would still hold its read end, so vsmanager never sees it close, and a leftover
# process could hold the console. preexec_fn cannot help (it runs before uvloop's dup2), so
# the exec shim, run by path with the standard library only, closes everything above 2, takes
# on the game's user and confinement (the plan), and execs the game in the same process.
EXEC_SHIM = Path(exec_shim.__file__).resolve()


def launch_argv(argv: list[str], plan: str) -> list[str]:
    """``argv`` run through the exec shim with ``plan`` (JSON; same pid: the game replaces it)."""
    return [sys.executable, "-I", "-S", str(EXEC_SHIM), plan, "--", *argv]


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
