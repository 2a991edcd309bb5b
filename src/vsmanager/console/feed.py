"""The console feed: the buffer plus a way for readers to wait for what comes next.

The producer (the supervisor's pipe capture) only appends and wakes; it never waits for a
reader. Each reader keeps its own cursor (a seq) and reads from the buffer when it wants.
Paced JSON readers also share the feed's tick clock and its last encoded batch.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vsmanager.console.buffer import ConsoleBuffer, ConsoleLine, Gap, Stream
from vsmanager.console.counters import ConsoleCounters


class ConsoleFeed:
    def __init__(self, buffer: ConsoleBuffer) -> None:
        self.buffer = buffer
        # Names this numbering of the console: seqs start again with each vsmanager process,
        # so a client resuming with a seq must say which numbering it comes from.
        self.console_id = secrets.token_hex(8)
        # Where the status comes from: called when a frame is built, so that what changes
        # by itself (the uptime) is as of the moment it is sent.
        self._status: Callable[[], dict[str, Any]] = dict
        self.status_version = 0
        # Set once vsmanager is shutting down and the game has exited: nothing more comes.
        self.ended = False
        self.readers = 0
        self.sessions_started = 0
        self.counters = ConsoleCounters()  # read by /metrics when scraped
        # The futures of the readers waiting now; publishing wakes them all and forgets
        # them, so a line published while nobody waits costs nothing.
        self._waiters: list[asyncio.Future[bool]] = []
        self._status_waiters: list[asyncio.Future[bool]] = []  # woken by the status only
        self.clock = TickClock()
        self._loop: asyncio.AbstractEventLoop | None = None
        # Called once a loop turn after lines or a status came (see listen).
        self._listeners: list[Callable[[], None]] = []
        self._notifying = False
        # While held (see hold), lines wake the listeners only at release, in that call.
        self._held = False
        # The last batch read, by (cursor, newest seq, limit, text bound): a new line or an
        # eviction changes the newest seq, so a hit is always what a fresh read would give.
        self._batch_key: tuple[int, int, int, int] = (-1, -1, 0, 0)
        self._batch = JsonBatch(None, "", 0, 0)

    def json_batch(self, cursor: int, limit: int, max_text: int) -> JsonBatch:
        """What a JSON client at ``cursor`` sends next: the gap it missed, if any, and one
        ``lines`` frame. Paced clients that are caught up ask for the same cursor on the same
        tick: the first one reads and encodes, the others reuse its batch."""
        key = (cursor, self.buffer.last_seq, limit, max_text)
        if key != self._batch_key:
            # Encoding may evict the oldest lines to make room for the JSON; a later hit
            # may then still carry some of them, which is no less exact.
            self._batch = _encode_batch(self.buffer, cursor, limit, max_text)
            self._batch_key = key
        return self._batch

    def publish(self, stream: Stream, text: str, by: str | None = None) -> ConsoleLine:
        line = self.buffer.append(stream, text, by=by)
        self.counters.line_read(stream, text)
        if self._waiters or self._listeners:
            self._wake()
        return line

    @property
    def status(self) -> dict[str, Any]:
        """The status as of now."""
        return self._status()

    def publish_status(self, status: Callable[[], dict[str, Any]] | dict[str, Any]) -> None:
        """The status changed: readers send it again. Pass the function that computes it
        (a fixed dict is also taken, and sent as it is)."""
        if isinstance(status, dict):
            snapshot = status
            self._status = lambda: snapshot
        else:
            self._status = status
        self.status_version += 1
        self._wake_status()

    def end(self) -> None:
        """vsmanager is shutting down and the game is down: readers send what they have not
        sent yet, then close."""
        self.ended = True
        self._wake_status()

    async def wait(self, seq: int, status_version: int, timeout: float | None = None) -> None:
        """Return once there is a line after ``seq``, a status newer than the given one, or
        the end (or the timeout passed)."""
        if self.buffer.last_seq > seq or self.status_version != status_version or self.ended:
            return
        await _wait_in(self._running_loop(), self._waiters, timeout)

    async def wait_status(self, status_version: int, timeout: float | None = None) -> None:
        """Return once the status is newer than the given one, or the end (or the timeout
        passed). Lines alone do not wake it: a reader that only needs the status (players
        come and go with it) costs a busy console nothing per line."""
        if self.status_version != status_version or self.ended:
            return
        await _wait_in(self._running_loop(), self._status_waiters, timeout)

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        # Looked up again only when the loop it had stopped: asyncio.get_running_loop()
        # makes a getpid() system call on Python 3.11, and readers wait once a turn.
        loop = self._loop
        if loop is None or not loop.is_running():
            loop = self._loop = asyncio.get_running_loop()
        return loop

    def listen(self, callback: Callable[[], None], loop: asyncio.AbstractEventLoop) -> None:
        """Call ``callback`` in ``loop`` once a turn in which lines, a status or the end came,
        after the turn's lines are all in (a chunk from the game's pipe: at once, see
        :meth:`hold`): a plain callback, no task to wake (the broadcast of caught-up clients,
        stream/broadcast.py). Until :meth:`unlisten`."""
        if callback not in self._listeners:
            self._listeners.append(callback)
        self._loop = loop

    def unlisten(self, callback: Callable[[], None]) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    def hold(self) -> None:
        """Lines published from now until :meth:`release` reach the listeners at the release,
        in that call, rather than a loop turn later: the pipe's capture holds the feed while a
        chunk's lines go in, so that caught-up clients are written before the loop sleeps again
        (one wake-up of the loop a chunk, and no turn of it between the line and the write)."""
        self._held = True

    def release(self) -> None:
        self._held = False
        if self._notifying:
            self._notify()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(True)
        loop = self._loop
        if self._listeners and not self._notifying and loop is not None and not loop.is_closed():
            self._notifying = True
            if not self._held:
                loop.call_soon(self._notify)

    def _notify(self) -> None:
        self._notifying = False
        for callback in list(self._listeners):
            callback()

    def _wake_status(self) -> None:
        waiters, self._status_waiters = self._status_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(True)
        self._wake()


async def _wait_in(loop: asyncio.AbstractEventLoop, waiters: list[asyncio.Future[bool]],
                   timeout: float | None) -> None:
    """Wait on a new future in ``waiters`` (woken with True) or until ``timeout`` (False)."""
    waiter: asyncio.Future[bool] = loop.create_future()
    waiters.append(waiter)
    # A timer on the future itself: asyncio.wait() would add a set, a callback and a
    # future per wait, and a watcher of the console waits this way once a line.
    timer = None if timeout is None else loop.call_later(timeout, _time_out, waiter)
    try:
        await waiter
    finally:
        if timer is not None:
            timer.cancel()
        if not waiter.done() or waiter.cancelled() or waiter.result() is False:
            waiter.cancel()
            # Cancelled or timed-out waiters are rare (a disconnect, a quiet console's
            # watcher once a second); removing them is O(n) once.
            waiters.remove(waiter)


def _time_out(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)


@dataclass(frozen=True, slots=True)
class JsonBatch:
    gap: Gap | None
    frame: str  # a ``lines`` frame, or "" when there is no line
    count: int  # lines in the frame
    end: int  # the cursor after this batch


def _encode_batch(buffer: ConsoleBuffer, cursor: int, limit: int, max_text: int) -> JsonBatch:
    batch = buffer.read_after(cursor, limit, max_text)
    if batch.lines:
        frame = '{"type":"lines","lines":[' + buffer.encode(batch.lines) + "]}"
        return JsonBatch(batch.gap, frame, len(batch.lines), batch.lines[-1].seq)
    return JsonBatch(batch.gap, "", 0, batch.gap.to_seq if batch.gap else cursor)


# The loop's clock moves in whole milliseconds under uvloop, so a tick may be served up to
# this much before its exact time; waking and then asking for the next tick both allow it.
_EARLY_S = 0.0005


class TickClock:
    """Ticks at multiples of an interval (plus an offset), shared by every paced client: what
    is due at the same moment shares one list and one timer, rather than a timer per client
    per frame."""

    def __init__(self) -> None:
        self._ticks: dict[float, list[Callable[[], object]]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._due = 0.0
        self._firing = False
        # Looked up once: asyncio.get_running_loop() makes a getpid() system call on
        # Python 3.11, and a crowd of clients asks for a tick thousands of times a second.
        self._loop: asyncio.AbstractEventLoop | None = None

    def next_time(self, interval: float, offset: float = 0.0) -> float:
        """The loop time of the next multiple of ``interval`` plus ``offset``: the same float
        for the same inputs, so that the clients of one tick land in one list."""
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        # The next tick after the one that may just have woken the caller, up to _EARLY_S
        # ahead of the loop's clock: asking again would wake it twice on one tick.
        now = loop.time() + _EARLY_S
        return ((now - offset) // interval + 1) * interval + offset

    def call_at(self, when: float, callback: Callable[[], object]) -> None:
        """Call ``callback`` (which must not raise) at the tick ``when``, a time
        :meth:`next_time` gave."""
        callbacks = self._ticks.get(when)
        if callbacks is None:
            callbacks = self._ticks[when] = []
            if not self._firing and (self._timer is None or when < self._due):
                assert self._loop is not None  # next_time gave the time
                self._arm(self._loop, when)
        callbacks.append(callback)

    def next_tick(self, interval: float, offset: float = 0.0) -> asyncio.Future[None]:
        """A future that completes at the next multiple of ``interval`` plus ``offset``
        (loop time).

        Awaited directly, so that a paced client resumes one frame less deep; a waiter that
        is cancelled is dropped at its tick.
        """
        when = self.next_time(interval, offset)
        assert self._loop is not None
        waiter: asyncio.Future[None] = self._loop.create_future()
        self.call_at(when, functools.partial(_wake, waiter))
        return waiter

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._due = when
        self._timer = loop.call_at(when, self._fire, loop)

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        self._firing = True  # callbacks ask for their next tick: one timer is armed after
        try:
            now = loop.time() + _EARLY_S
            for when in [when for when in self._ticks if when <= now]:
                for callback in self._ticks.pop(when):
                    callback()
        finally:
            self._firing = False
            if self._ticks:
                self._arm(loop, min(self._ticks))


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
