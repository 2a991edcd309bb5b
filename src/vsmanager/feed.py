"""The console feed: the buffer plus a way for readers to wait for what comes next.

The producer (the supervisor's pipe readers) only appends and wakes; it never waits for a
reader. Each reader keeps its own cursor (a seq) and reads from the buffer when it wants.
"""

from __future__ import annotations

import asyncio
from typing import Any

from vsmanager.console import ConsoleBuffer, ConsoleLine, Stream


class ConsoleFeed:
    def __init__(self, buffer: ConsoleBuffer) -> None:
        self.buffer = buffer
        self.status: dict[str, Any] = {}
        self.status_version = 0
        self.readers = 0
        # The futures of the readers waiting now; publishing wakes them all and forgets
        # them, so a line published while nobody waits costs nothing.
        self._waiters: list[asyncio.Future[None]] = []

    def publish(self, stream: Stream, text: str) -> ConsoleLine:
        line = self.buffer.append(stream, text)
        if self._waiters:
            self._wake()
        return line

    def publish_status(self, status: dict[str, Any]) -> None:
        self.status = status
        self.status_version += 1
        self._wake()

    async def wait(self, seq: int, status_version: int, timeout: float | None = None) -> None:
        """Return once there is a line after ``seq`` or a status newer than the given one
        (or the timeout passed)."""
        if self.buffer.last_seq > seq or self.status_version != status_version:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            if timeout is None:
                await waiter
            else:
                await asyncio.wait({waiter}, timeout=timeout)
        finally:
            if not waiter.done():
                waiter.cancel()
                # Cancelled readers are rare (a disconnect); removing them is O(n) once.
                self._waiters.remove(waiter)

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
