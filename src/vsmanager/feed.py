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
        self.clock = TickClock()
        self._frame_range = (0, 0)
        self._frame = ""

    def lines_frame(self, lines: list[ConsoleLine]) -> str:
        """The JSON ``lines`` frame for these lines. Paced clients that are caught up send
        the same lines on the same tick: the frame is built once for all of them."""
        key = (lines[0].seq, lines[-1].seq)
        if key != self._frame_range:
            body = ",".join(line.json for line in lines)
            self._frame = '{"type":"lines","lines":[' + body + "]}"
            self._frame_range = key
        return self._frame

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


class TickClock:
    """Ticks on multiples of an interval, shared by every paced client: one timer per tick
    for all of them, rather than a timer per client per frame."""

    def __init__(self) -> None:
        self._waiters: list[tuple[float, asyncio.Future[None]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._due = 0.0

    async def next_tick(self, interval: float) -> None:
        """Sleep until the next multiple of ``interval`` (loop time)."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        when = (now // interval + 1) * interval
        waiter = loop.create_future()
        self._waiters.append((when, waiter))
        if self._timer is None or when < self._due:
            self._arm(loop, when)
        try:
            await waiter
        finally:
            if not waiter.done():
                waiter.cancel()
                self._waiters = [(w, f) for w, f in self._waiters if f is not waiter]

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._due = when
        self._timer = loop.call_at(when, self._fire, loop)

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        # A timer may fire a little early (uvloop rounds to milliseconds): a waiter that is
        # due within half a millisecond goes now.
        now = loop.time() + 0.0005
        later: list[tuple[float, asyncio.Future[None]]] = []
        for when, waiter in self._waiters:
            if waiter.done():
                continue
            if when <= now:
                waiter.set_result(None)
            else:
                later.append((when, waiter))
        self._waiters = later
        if later:
            self._arm(loop, min(when for when, _ in later))
