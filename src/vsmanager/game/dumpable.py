"""Make vsmanager's own memory and environment unreadable to processes of the same user.

On Linux, a process of the same user can read another's ``/proc/<pid>/environ`` and
``/proc/<pid>/mem`` and attach a debugger to it, unless that process is non-dumpable. The
game runs as vsmanager's user and vsmanager holds the keys: marking vsmanager non-dumpable
(``prctl(PR_SET_DUMPABLE, 0)``) closes that door. The game is not affected: the flag is
reset for a program it executes. The cost: no core dumps of vsmanager, and debuggers need
root (CAP_SYS_PTRACE).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3


def _prctl(option: int, arg: int = 0) -> int:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    result: int = libc.prctl(option, arg, 0, 0, 0)
    return result


def make_non_dumpable() -> bool:
    """True if this process is now non-dumpable; False where the system has no prctl."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return _prctl(PR_SET_DUMPABLE, 0) == 0 and _prctl(PR_GET_DUMPABLE) == 0
    except (OSError, AttributeError):
        return False
