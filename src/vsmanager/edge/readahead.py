"""How far an HTTP connection reads ahead of its answers.

uvicorn queues pipelined requests without bound: it pauses reading when it queues one, but
parses the whole chunk already read (thousands of small requests), and resumes reading
after every response and whenever the app reads a body. One connection that pipelines
``GET /healthz`` and never reads grew vsmanager by 290 MB in 10 s. Like a careful server,
a connection here stops parsing (and reading) while:

- :data:`PIPELINE_DEPTH` requests wait behind the one being answered;
- the transport's buffer is over its high-water mark (answers are not being taken);
- more than :data:`UNREAD_LIMIT_BYTES` of answers sit unread in the kernel's send queue (it
  would take megabytes of them from a client that never reads, each a request served for
  nothing).

What was read meanwhile waits unparsed (at most what one read returned) until the answers
drain; the send deadline runs while they do not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from uvicorn.protocols.http.flow_control import FlowControl

from vsmanager.edge.drain import SendDeadline, unacknowledged_bytes

PIPELINE_DEPTH = 4
UNREAD_LIMIT_BYTES = 64 * 1024
# Nothing signals that the client has read: how often a held connection looks again.
UNREAD_POLL_S = 0.05


class GatedFlow(FlowControl):
    """uvicorn's flow control, whose ``resume_reading`` (after every response, and whenever
    the app reads a body) is ignored while requests are held back."""

    def __init__(self, transport: asyncio.Transport) -> None:
        super().__init__(transport)
        self.held = False

    def resume_reading(self) -> None:
        if not self.held:
            super().resume_reading()


class ReadAhead:
    """A connection's held-back bytes. ``queued``: requests waiting behind the one being
    answered; ``answering``: whether any request was read before; ``feed``: parse bytes
    (and call :meth:`hold` with what it must not parse yet)."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop,
                 deadline: SendDeadline, *, queued: Callable[[], int],
                 answering: Callable[[], bool], feed: Callable[[bytes], None]) -> None:
        self.flow = GatedFlow(transport)
        self.transport = transport
        self.loop = loop
        self.deadline = deadline
        self.queued = queued
        self.answering = answering
        self.feed = feed
        self.backlog: bytearray | None = None
        self._stopped = False
        self._wake_scheduled = False
        self._poll_timer: asyncio.TimerHandle | None = None

    @property
    def holding(self) -> bool:
        return self.backlog is not None

    def must_wait(self) -> bool:
        return self._queue_full() or self._answers_unread()

    def hold(self, data: bytes) -> None:
        self.backlog = bytearray(data)
        self.flow.held = True
        self.flow.pause_reading()
        self._watch_reader()

    def add(self, data: bytes) -> None:
        """Bytes read while holding (a read already under way when reading paused)."""
        assert self.backlog is not None
        self.backlog += data

    def wake(self) -> None:
        """An answer completed or the buffer drained: parse on, soon, if it may."""
        if self.backlog is not None and not self._wake_scheduled:
            self._wake_scheduled = True
            self.loop.call_soon(self._resume)

    def stop(self) -> None:
        """The connection is refused or gone: nothing held back will be parsed."""
        self._stopped = True
        if self._poll_timer is not None:
            self._poll_timer.cancel()
            self._poll_timer = None

    def _queue_full(self) -> bool:
        return self.queued() >= PIPELINE_DEPTH or self.flow.write_paused

    def _answers_unread(self) -> bool:
        return self.answering() and unacknowledged_bytes(self.transport) > UNREAD_LIMIT_BYTES

    def _watch_reader(self) -> None:
        if self._queue_full():
            return  # a response completing, or the buffer draining, wakes us
        # Held for unread answers: no event will say they were read. Look again soon, and
        # let the send deadline run meanwhile.
        self.deadline.stalled()
        if self._poll_timer is None:
            self._poll_timer = self.loop.call_later(UNREAD_POLL_S, self._poll)

    def _poll(self) -> None:
        self._poll_timer = None
        self._resume()

    def _resume(self) -> None:
        self._wake_scheduled = False
        if self.backlog is None or self._stopped or self.transport.is_closing():
            return
        if self.must_wait():
            self._watch_reader()
            return
        if not self.flow.write_paused:
            self.deadline.flowing()
        data, self.backlog = bytes(self.backlog), None
        self.flow.held = False
        self.feed(data)
        if self.backlog is None and not self._stopped:
            self.flow.resume_reading()
