"""Capture the game's stdout and stderr: bytes from a pipe become console lines at once.

The event loop hands each chunk to :class:`GameProtocol` as it arrives; the chunk is split
into lines and published before the callback returns, and the clients that were caught up
are written in the same callback. No stream reader, future or task stands between the pipe
and the buffer, nor a turn of the loop between the buffer and a caught-up client's socket, so
a line costs one wake-up of the loop, and the pipe is always drained at once: the game never
waits for vsmanager.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from vsmanager.console.buffer import Stream
from vsmanager.console.feed import ConsoleFeed
from vsmanager.console.lines import LineSplitter

LineSink = Callable[[Stream, str], None]

STDOUT_FD = 1
STDERR_FD = 2


class PipeCapture:
    """One pipe's lines: complete lines go out with the chunk that ends them; a partial line
    (a prompt such as ``> ``) goes out after ``flush_after`` seconds of silence, or at EOF.

    With ``feed`` (the feed the sink publishes to), the feed is held while a chunk's lines go
    in, so its caught-up readers are written in the same callback (ConsoleFeed.hold).

    With ``gated``, what comes before :meth:`open` is kept and published at it: the
    supervisor opens the game's output once it has published the run's start line, so a run's
    lines always begin with it, however fast the game prints."""

    def __init__(
        self,
        stream: Stream,
        sink: LineSink,
        max_line_bytes: int,
        flush_after: float,
        loop: asyncio.AbstractEventLoop,
        feed: ConsoleFeed | None = None,
        gated: bool = False,
    ) -> None:
        self.stream = stream
        self._sink = sink
        self._feed = feed
        self._splitter = LineSplitter(max_line_bytes)
        self._flush_after = flush_after
        self._loop = loop
        self._flush_timer: asyncio.TimerHandle | None = None
        self._ignoring = False
        self.closed: asyncio.Future[None] = loop.create_future()
        self._early: list[bytes] | None = [] if gated else None  # until open()
        self._early_eof = False

    def open(self) -> None:
        """Publish what came while gated, and from now on everything as it comes."""
        early, self._early = self._early, None
        for chunk in early or ():
            self.data(chunk)
        if self._early_eof:
            self.eof()

    def data(self, chunk: bytes) -> None:
        if self._early is not None:
            self._early.append(chunk)
            return
        if self._ignoring:
            return
        self._cancel_flush()
        feed = self._feed
        if feed is None:
            self._emit(self._splitter.feed(chunk))
        else:
            feed.hold()
            try:
                self._emit(self._splitter.feed(chunk))
            finally:
                feed.release()
        if self._splitter.has_pending:
            self._flush_timer = self._loop.call_later(self._flush_after, self._flush)

    def eof(self) -> None:
        if self._early is not None:
            self._early_eof = True
            return
        self._cancel_flush()
        if not self._ignoring:
            self._flush()
        if not self.closed.done():
            self.closed.set_result(None)

    def abandon(self) -> None:
        """Stop publishing this pipe's output (a leftover process still holds it open)."""
        self._cancel_flush()
        self._ignoring = True

    def _flush(self) -> None:
        self._flush_timer = None
        self._emit(self._splitter.flush())

    def _emit(self, lines: list[str]) -> None:
        for text in lines:
            self._sink(self.stream, text)

    def _cancel_flush(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None


class GameProtocol(asyncio.subprocess.SubprocessStreamProtocol):
    """asyncio's protocol for a child with pipes (stdin, exit, pipe bookkeeping), except
    that stdout and stderr go to their :class:`PipeCapture` instead of stream readers."""

    def __init__(self, captures: dict[int, PipeCapture], loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=2**16, loop=loop)
        self._captures = captures
        # Done when the child exits, whether or not its pipes are closed yet.
        self.exited: asyncio.Future[None] = loop.create_future()

    def process_exited(self) -> None:
        super().process_exited()
        if not self.exited.done():
            self.exited.set_result(None)

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        capture = self._captures.get(fd)
        if capture is None:
            super().pipe_data_received(fd, data)
        else:
            capture.data(data if isinstance(data, bytes) else data.encode())

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        capture = self._captures.get(fd)
        if capture is not None:
            capture.eof()
        super().pipe_connection_lost(fd, exc)
