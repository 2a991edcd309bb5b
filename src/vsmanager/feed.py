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
        # One future for everyone waiting, replaced after it fires: waking N readers costs
        # one set_result, and a line published while nobody waits costs nothing.
        self._changed: asyncio.Future[None] | None = None

    def publish(self, stream: Stream, text: str) -> ConsoleLine:
        line = self.buffer.append(stream, text)
        self._wake()
        return line

    def publish_status(self, status: dict[str, Any]) -> None:
        self.status = status
        self.status_version += 1
        self._wake()

    async def wait(self, seq: int, status_version: int, timeout: float | None = None) -> None:
        """Return once there is a line after ``seq`` or a status newer than the given one."""
        if self.buffer.last_seq > seq or self.status_version != status_version:
            return
        if self._changed is None or self._changed.done():
            self._changed = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(asyncio.shield(self._changed), timeout)
        except TimeoutError:
            pass

    def _wake(self) -> None:
        changed = self._changed
        if changed is not None and not changed.done():
            changed.set_result(None)
        self._changed = None
