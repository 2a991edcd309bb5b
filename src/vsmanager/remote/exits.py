"""How a client command ends: its exit codes, and the one way to report a failure.

Shared by every command module; imports none of them.
"""

from __future__ import annotations

import os
import sys
from enum import IntEnum


class ExitCode(IntEnum):
    """Documented in docs/terminal.md; scripts depend on these numbers."""

    OK = 0
    FAILED = 1  # vsmanager answered with an error, or the game server crashed
    USAGE = 2  # bad arguments, no key, bad URL
    AUTH = 3  # key refused (401/403, close 4001/4003)
    UNREACHABLE = 4  # no answer after the retries
    REFUSED = 5  # not possible in the server's present state (409/503)
    TIMEOUT = 6  # the server did not reach the state in time
    INTERRUPTED = 130  # Ctrl+C while following or waiting


EPILOG = ("exit codes: 0 done, 1 failed, 2 usage, 3 key refused, 4 unreachable, "
          "5 refused in the server's present state, 6 timed out, 130 interrupted "
          "(docs/terminal.md)")


def fail(code: ExitCode, message: str) -> int:
    print(f"vsmanager: {message}", file=sys.stderr)
    return int(code)


def quiet_broken_pipe() -> int:
    """The reader went away (``| head``): stop without a traceback when Python flushes."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return int(ExitCode.OK)
