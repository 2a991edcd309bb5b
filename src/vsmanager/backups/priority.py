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
    """On Linux nice and ioprio belong to the calling thread: only the worker is lowered."""
    with contextlib.suppress(OSError):
        os.nice(10)
    number = _IOPRIO_SET.get(platform.machine())
    if number is not None:
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.syscall(number, _IOPRIO_WHO_PROCESS, 0, _IOPRIO_CLASS_IDLE << 13)
