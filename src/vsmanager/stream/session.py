"""One WebSocket client of the console: its cursor, its sender, its receiver, its frames.

Each client reads the shared buffer through its own cursor in its own task; nothing it does
can slow the pipe readers or another client. See docs/streaming.md for the protocol.

Over 350 lines: one client's sending (its own loop, and its share of the broadcast while it is
caught up, which must agree on every frame) and its receiving read best side by side.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from starlette.websockets import WebSocket, WebSocketDisconnect

from vsmanager.access.gatekeeper import REVOKED_REASON
from vsmanager.config.settings import Settings
from vsmanager.console.buffer import Gap
from vsmanager.console.commands import CommandRefused, InvalidCommand, validate_command
from vsmanager.console.counters import NO_STATUS
from vsmanager.console.feed import ConsoleFeed
from vsmanager.edge.clients import client_address
from vsmanager.edge.ws_protocol import FRAME_WRITER, ConsoleWebSocketProtocol
from vsmanager.game.supervisor import LifecycleError, Supervisor
from vsmanager.stream.broadcast import QUIET, WAKE, TickMemo, broadcast_of
from vsmanager.stream.frames import json_frames, shared_frames, text_frame, text_frames
from vsmanager.stream.options import StreamOptions
from vsmanager.stream.server_send import SERVER_SEND
from vsmanager.stream.start import Start
from vsmanager.stream.watchdog import SendWatchdog

log = structlog.get_logger("vsmanager.streaming")

WS_4001_UNAUTHORIZED = 4001
WS_4003_FORBIDDEN = 4003
WS_4008_TOO_SLOW = 4008
WS_4400_BAD_REQUEST = 4400
WS_1012_SERVICE_RESTART = 1012

# Pacing starts once a client's share of the frame budget is this long: shorter waits
# save little, and uvloop rounds timers to whole milliseconds anyway. So a few clients (up
# to 13 at the default budget) get a frame per line at once, and a crowd shares the budget.
MIN_PACING_S = 0.003
# At most this many paced clients share a tick; a bigger crowd ticks in that many groups,
# spread evenly over the interval.
TICK_GROUP_CLIENTS = 25
_CLOSE_TIMEOUT_S = 2.0
# Text per frame, so that a far-behind client gets frames any client library accepts
# (Python's websockets refuses frames over 1 MiB by default).
MAX_FRAME_TEXT = 256 * 1024

class ConsoleSession:
    """Streams the console to one accepted WebSocket and takes its commands."""

    # Slots, not a dict: a thousand idle clients are a thousand of these.
    __slots__ = (
        "_broadcast", "_cursor", "_ended", "_json", "_loop", "_min_interval", "_on_command",
        "_paced", "_paced_for", "_pending", "_pending_frames", "_receiver", "_seen_status",
        "_send", "_sender", "_shared", "_slot", "_start", "_too_slow", "_writer", "client",
        "close_code", "feed", "lines_sent", "options", "revoked", "sending_since", "settings",
        "supervisor", "ws",
    )

    def __init__(
        self,
        websocket: WebSocket,
        feed: ConsoleFeed,
        supervisor: Supervisor,
        settings: Settings,
        options: StreamOptions,
        client: str,
        start: Start,
        on_command: Callable[[str], Awaitable[object]] | None = None,
    ) -> None:
        self.ws = websocket
        self._start = start
        self.feed = feed
        self.supervisor = supervisor
        self.settings = settings
        self.options = options
        self.client = client
        # What a valid command goes to: by default the game; the route adds who sent it.
        self._on_command = on_command or supervisor.send_command
        self.lines_sent = 0
        self.close_code: int | None = None
        self.sending_since: float | None = None  # loop time the pending send began
        self._json = options.format == "json"
        self._sender: asyncio.Task[None] | None = None
        self._receiver: asyncio.Task[None] | None = None
        self._too_slow = False
        self.revoked = False  # its key was revoked (see revoke)
        self._ended = False
        # Looked up once, not per frame: on Python 3.11 the lookup makes a system call.
        self._loop = asyncio.get_running_loop()
        self._send = websocket.scope.get(SERVER_SEND) or websocket.send
        # Frames built once and written as bytes, unless each needs this connection's own
        # compressor; then they go through the server's send one by one.
        writer = websocket.scope.get(FRAME_WRITER)
        self._writer: ConsoleWebSocketProtocol | None = (
            writer if isinstance(writer, ConsoleWebSocketProtocol) and writer.writes_frames
            else None)
        self._shared = shared_frames(feed)
        self._broadcast = broadcast_of(feed)
        # Where this client is while the broadcast serves it (see _park and deliver).
        self._cursor = 0
        self._seen_status = -1
        self._pending: list[Any] = []  # frames owed (bytes with a writer, else text)
        self._pending_frames = 0
        fps = options.frames_per_second
        self._min_interval = 1 / fps if fps else 0.0
        # Which group of the crowd this client ticks with (see _pacing).
        feed.sessions_started += 1
        self._slot = feed.sessions_started
        self._paced_for = -1  # the number of readers _paced was worked out for
        self._paced: tuple[float, float] | None = None

    async def run(self, watchdog: SendWatchdog) -> None:
        self.feed.readers += 1
        sender = self._sender = asyncio.create_task(self._send_loop(), name="console-sender")
        receiver = self._receiver = asyncio.create_task(self._receive_loop(), name="console-receiver")
        if self.revoked:  # while the handshake was answered: neither ever runs
            sender.cancel()
            receiver.cancel()
        watchdog.watch(self)
        try:
            done, _ = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    exc = task.exception()
                    if not isinstance(exc, WebSocketDisconnect | OSError):
                        log.error("console_session_failed", client=self.client, exc_info=exc)
            if self._too_slow:
                await self._close_slow_client()
            elif self.revoked and self.close_code is None:
                await self._close(WS_4001_UNAUTHORIZED, REVOKED_REASON)
            elif self._ended:
                await self._close(WS_1012_SERVICE_RESTART, "vsmanager is shutting down")
        finally:
            watchdog.forget(self)
            self.feed.readers -= 1
            self.feed.counters.client_closed(self.close_code)
            for task in (sender, receiver):
                task.cancel()
            await asyncio.gather(sender, receiver, return_exceptions=True)

    def give_up(self) -> None:
        """The watchdog's verdict: this client has not drained its socket for too long."""
        self._too_slow = True
        if self._sender is not None:
            self._sender.cancel()  # it is waiting for the socket to drain: nothing half-sent

    def revoke(self) -> None:
        """The client's key was revoked: it sends and runs nothing more, and is closed with
        4001 (unless it is closing already)."""
        self.revoked = True
        for task in (self._sender, self._receiver):
            if task is not None:
                task.cancel()

    # -- sending --------------------------------------------------------------------------

    async def _send_loop(self) -> None:
        cursor, notice = self._start.cursor_when_sending(self.feed.buffer.first_seq), self._start.notice
        seen_status = -1
        if notice:
            self._queue_error(*notice)
        status_cursor = cursor  # where the cursor was when the last status went out
        while True:
            if self._json and seen_status != self.feed.status_version:
                seen_status, status_cursor = self.feed.status_version, cursor
                self._queue(json.dumps({"type": "status", **self.feed.status}))
            if self.feed.buffer.last_seq <= cursor:
                if self.feed.ended:
                    # Everything there will ever be was sent; the final status closes it,
                    # after the last lines (it may have gone out before them).
                    if self._json and status_cursor != cursor:
                        self._queue(json.dumps({"type": "status", **self.feed.status}))
                    await self._flush()
                    self._ended = True
                    return
                await self._flush()
                if (self.feed.buffer.last_seq > cursor or self.feed.ended
                        or (self._json and seen_status != self.feed.status_version)):
                    continue  # more came while the write waited
                # Caught up: the next line, after a quiet spell, goes out the moment it comes.
                if self._writer is not None:
                    cursor = await self._park(cursor, seen_status, QUIET)
                else:
                    await self.feed.wait(cursor, seen_status if self._json else self.feed.status_version)
                continue
            cursor = self._queue_json_batch(cursor) if self._json else self._queue_text_batch(cursor)
            await self._flush()
            pacing = self._pacing()
            if pacing is None:
                continue
            if self._writer is not None:  # written at its ticks by the broadcast from now on
                cursor = await self._park(cursor, seen_status, self.feed.clock.next_time(*pacing))
            else:
                await self.feed.clock.next_tick(*pacing)

    def _queue_json_batch(self, cursor: int) -> int:
        data: str | bytes
        if self._writer is None:
            batch = self.feed.json_batch(cursor, self.settings.ws_max_batch_lines, MAX_FRAME_TEXT)
            gap, data, count, end = batch.gap, batch.frame, batch.count, batch.end
        else:  # the bytes of the frame, built by the first client at this cursor
            gap, data, count, end = self._owed(cursor, self.feed.buffer.last_seq)
        if gap is not None:
            self._queue_gap(gap)
        if count:
            self._pending.append(data)
            self._pending_frames += 1
            self.lines_sent += count
        return end

    def _queue_text_batch(self, cursor: int) -> int:
        buffer, limit = self.feed.buffer, self.settings.ws_max_batch_lines
        data: list[str] | bytes
        if self._writer is None:
            batch = buffer.read_after(cursor, limit, MAX_FRAME_TEXT)
            gap, data, count = batch.gap, [line.as_text() for line in batch.lines], len(batch.lines)
            end = batch.lines[-1].seq if batch.lines else (gap.to_seq if gap else cursor)
        else:  # one frame per line, the lines' frames built once for every client in step
            gap, data, count, end = self._owed(cursor, buffer.last_seq)
        if gap is not None:
            self._queue_gap(gap)
        if count:
            if self._writer is None:
                self._pending.extend(data)
            else:
                self._pending.append(data)
            self._pending_frames += count
            self.lines_sent += count
        return end

    def _owed(self, cursor: int, newest: int) -> tuple[Gap | None, bytes, int, int]:
        """What a client at ``cursor`` writes next: the gap it missed, if any, the frames'
        bytes, how many lines they carry and the cursor after them. Built by the first
        client in step and shared by the rest until a new line comes."""
        limit = self.settings.ws_max_batch_lines
        key = (self._json, cursor, limit)
        entry: tuple[Gap | None, bytes, int, int] | None = self._shared.peek(newest, key)
        if entry is None:
            build = json_frames if self._json else text_frames
            entry = self._shared.put(key, build(self.feed, cursor, limit, MAX_FRAME_TEXT))
        return entry

    def _pacing(self) -> tuple[float, float] | None:
        # Past a few clients, each waits after a write until the next tick of the feed's
        # clock, while lines pile up for the next write (one JSON frame, or a frame per line
        # in text); ticks are shared, so the clients in step are written together, the same
        # bytes. A big crowd ticks in groups spread over the interval: a burst of 100 writes
        # takes a millisecond or more, which the clients served last in it would wait on
        # every write. The interval and offset of this client's ticks; None when not paced.
        readers = self.feed.readers
        if readers != self._paced_for:  # asked after every write: worked out once
            self._paced_for, self._paced = readers, None
            # Writes, not lines, cost CPU (see docs/streaming.md): the process-wide budget
            # is shared among clients, and a client may ask for fewer writes.
            interval = max(readers / self.settings.ws_frames_per_second, self._min_interval)
            if interval >= MIN_PACING_S:
                groups = -(-readers // TICK_GROUP_CLIENTS)
                self._paced = interval, (self._slot % groups) * interval / groups
        return self._paced

    async def _park(self, cursor: int, seen_status: int, after: float) -> int:
        """Leave this client to the feed's broadcast until it is owed more than lines it can
        write at once (``after``: QUIET when caught up, else the tick it waits for); the
        cursor then."""
        self._cursor, self._seen_status = cursor, seen_status
        await self._broadcast.park(self, after)
        return self._cursor

    def deliver(self, memo: TickMemo | None = None) -> float:
        """The broadcast's turn: write the lines this parked client is owed, the same bytes
        as every client at its cursor, if its socket takes them at once. WAKE when it is
        owed anything else (a gap, a status, the end) or its socket is full: its own loop
        takes over. Else QUIET (served again when lines come) or, once written if paced,
        the time of its next tick. ``memo``: what the clients served in the same call of
        the broadcast share (the frames at a cursor, the next tick of a pacing)."""
        feed, cursor = self.feed, self._cursor
        if feed.ended or (self._json and self._seen_status != feed.status_version):
            return WAKE
        newest = feed.buffer.last_seq
        if newest <= cursor:
            return QUIET
        writer = self._writer
        if writer is None or not writer.write_flag.up:
            return WAKE
        if memo is None:
            owed = self._owed(cursor, newest)
        elif memo.cursor == cursor and memo.json == self._json and memo.owed is not None:
            owed = memo.owed
        else:
            owed = memo.owed = self._owed(cursor, newest)
            memo.cursor, memo.json = cursor, self._json
        gap, data, count, end = owed
        if gap is not None:
            return WAKE
        writer.write_frames(data)
        self._cursor = end
        self.lines_sent += count
        feed.counters.frames_at_once += 1 if self._json else count
        pacing = self._pacing()
        if pacing is not None:  # the rest, if more came than one write holds, at that tick
            if memo is None:
                return feed.clock.next_time(*pacing)
            if pacing != memo.pacing:
                memo.pacing, memo.next_tick = pacing, feed.clock.next_time(*pacing)
            return memo.next_tick
        # Owed more than one write holds (a burst past the batch size): its loop sends it.
        return QUIET if end >= newest else WAKE

    def _queue_gap(self, gap: Gap) -> None:
        self.feed.counters.gap_sent(gap.count)
        if self._json:
            frame = {"type": "gap", "from_seq": gap.from_seq, "to_seq": gap.to_seq, "count": gap.count}
            self._queue(json.dumps(frame))
        else:
            self._queue(
                f"[vsmanager] {gap.count} lines skipped (seq {gap.from_seq}-{gap.to_seq} "
                "are no longer in the buffer)"
            )

    def _queue_error(self, code: str, message: str) -> None:
        if self._json:
            self._queue(json.dumps({"type": "error", "code": code, "message": message}))
        else:
            self._queue(f"[vsmanager] error: {message}")

    async def _send_error(self, code: str, message: str) -> None:
        self._queue_error(code, message)
        await self._flush()

    def _queue(self, frame: str) -> None:
        self._pending.append(frame if self._writer is None else text_frame(frame))
        self._pending_frames += 1

    async def _flush(self) -> None:
        """Send what this client is owed: one write of prebuilt frames, or (permessage-deflate
        on, or no frame writer) one ASGI send per frame."""
        pending, frames = self._pending, self._pending_frames
        if not frames:
            return
        self._pending, self._pending_frames = [], 0
        writer, waited = self._writer, 0.0
        # A send waits while the client's socket is full; the watchdog times it, which costs
        # far less than a timer per send.
        try:
            if writer is not None:
                if not writer.writable.is_set():
                    since = self.sending_since = self._loop.time()
                    await writer.writable.wait()
                    waited = self._loop.time() - since
                writer.write_frames(pending[0] if len(pending) == 1 else b"".join(pending))
            else:
                for frame in pending:
                    since = self.sending_since = self._loop.time()
                    await self._send({"type": "websocket.send", "text": frame})
                    waited = max(waited, self._loop.time() - since)
        except OSError:
            # What Starlette's send would raise: the client is gone.
            raise WebSocketDisconnect(1006) from None
        finally:
            self.sending_since = None
        self.feed.counters.frames_written(frames, waited)

    async def _close_slow_client(self) -> None:
        self.close_code = WS_4008_TOO_SLOW
        log.warning(
            "console_client_too_slow",
            client=self.client,
            send_timeout_s=self.settings.ws_send_timeout,
            lines_sent=self.lines_sent,
        )
        # The close frame waits behind everything already queued for this client; if it
        # cannot drain, the server's protocol resets the connection (ws_protocol.py).
        await self._close(WS_4008_TOO_SLOW,
                          "too slow: reconnect with ?after=<last seq received>&console_id=<its id>")

    async def _close(self, code: int, reason: str) -> None:
        self.close_code = code
        try:
            async with asyncio.timeout(_CLOSE_TIMEOUT_S):
                await self.ws.close(code, reason)
        except (TimeoutError, RuntimeError, OSError, WebSocketDisconnect):
            pass

    # -- receiving ------------------------------------------------------------------------

    async def _receive_loop(self) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                self.close_code = self.close_code or int(message.get("code") or NO_STATUS)
                return
            text = message.get("text")
            if text is None:
                await self._send_error("binary_not_supported", "frames must be text (JSON)")
                continue
            await self._handle_frame(text)

    async def _handle_frame(self, text: str) -> None:
        try:
            frame = json.loads(text)
        except (ValueError, RecursionError):
            # RecursionError: brackets nested deeper than the parser's stack (a 64 KB frame).
            await self._send_error("invalid_json", "frame is not valid JSON")
            return
        if not isinstance(frame, dict):
            await self._send_error("invalid_frame", "frame must be a JSON object")
            return
        kind = frame.get("type")
        if kind != "command":
            await self._send_error(
                "unknown_type", f"unknown frame type {str(kind)[:40]!r}; expected 'command'"
            )
            return
        try:
            command = validate_command(frame.get("command"), self.settings.command_max_chars)
            await self._on_command(command)
        except InvalidCommand as exc:
            await self._send_error("invalid_command", str(exc))
        except (LifecycleError, CommandRefused) as exc:
            await self._send_error(exc.code, exc.message)


def describe_client(websocket: WebSocket) -> str:
    return client_address(websocket)  # the one answer, trusted proxies applied


async def close_before_streaming(websocket: WebSocket, code: int, reason: str) -> None:
    """Accept, then close with an application code: closing before accepting would turn
    into an HTTP 403 and the client could not tell 4001 from 4003."""
    await websocket.accept()
    await websocket.close(code, reason)


def session_summary(session: ConsoleSession) -> dict[str, Any]:
    code = session.close_code
    return {"close_code": "no_status" if code == NO_STATUS else code, "lines_sent": session.lines_sent}
