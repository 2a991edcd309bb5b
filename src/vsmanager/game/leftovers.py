"""Leftovers: processes that outlived the game and still hold its console pipes (a mod's
helper that called setsid() escapes the group kill). vsmanager names them at once, stops
reading from them, and ends them when it shuts down."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Iterable

from vsmanager.game import procfs

# How long the shutdown gives leftover processes after SIGTERM before SIGKILL.
LEFTOVER_TERM_S = 1.0
POLL_S = 0.02


class Leftovers:
    def __init__(self) -> None:
        self._pids: list[int] = []
        # vsmanager's own helpers (the supervisors of last resort), which hold it on purpose.
        self.helpers: set[int] = set()

    @property
    def pids(self) -> list[int]:
        """The leftovers known, while they live."""
        self._pids = [pid for pid in self._pids if procfs.is_alive(pid)]
        return list(self._pids)

    def find(self, pipes: set[int]) -> list[int]:
        """Who (besides vsmanager and its helpers) holds these pipe inodes; remembered for
        the shutdown."""
        holders = procfs.pipe_holders(pipes, exclude=(os.getpid(), *self.helpers))
        self._pids.extend(pid for pid in holders if pid not in self._pids)
        return holders

    @staticmethod
    def describe(pids: Iterable[int]) -> str:
        return ", ".join(f"{pid} ({procfs.command_name(pid)})" for pid in pids)

    async def end(self) -> None:
        """SIGTERM, a moment, then SIGKILL, for each leftover still alive."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = self.pids
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + LEFTOVER_TERM_S
            while time.monotonic() < deadline:
                if not self.pids:
                    return
                await asyncio.sleep(POLL_S)
