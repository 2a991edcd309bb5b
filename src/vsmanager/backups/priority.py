"""Low CPU and I/O priority for the thread that archives, so the console does not wait."""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform

# ioprio_set(2) has no Python wrapper: its number by machine, the idle class, this thread.
_IOPRIO_SET = {"x86_64": 251, "aarch64": 30, "armv7l": 314, "i686": 289}
_IOPRIO_WHO_PROCESS = 1
_IOPRIO_CLASS_IDLE = 3


def lower_this_thread() -> None:
    """The idle CPU policy (it runs only when nothing else wants the CPU, and any task that
    wakes up takes the CPU from it at once; nice 10 where that policy is missing) and the
    idle I/O class. On Linux both belong to the calling thread: called in the backup process
    (child.py), whose one thread does the work."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (OSError, AttributeError):
        with contextlib.suppress(OSError):
            os.nice(10)
    lower_io_of_this_thread()


def lower_io_of_this_thread() -> None:
    """The idle I/O class only: the disk serves it when nobody else asks."""
    number = _IOPRIO_SET.get(platform.machine())
    if number is not None:
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.syscall(number, _IOPRIO_WHO_PROCESS, 0, _IOPRIO_CLASS_IDLE << 13)
