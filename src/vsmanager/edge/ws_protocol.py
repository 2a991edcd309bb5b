"""uvicorn's WebSocket protocol, with closes that cannot linger.

uvicorn closes a connection with ``transport.close()``, which asyncio defines as "send what
is buffered, then close". A client that has stopped reading never lets that happen, so the
socket stays open for good with megabytes queued; and once the buffer reaches the kernel,
closing the descriptor leaves an orphan socket that the kernel keeps probing for minutes.
Here every close gets :data:`CLOSE_LINGER_S` to drain (to the client, not only to the
kernel); after that the connection is aborted with a TCP reset, which frees its buffers at
once. See docs/streaming.md ("No lingering socket").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Callable
from typing import Any, cast

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request, Response
from websockets.protocol import State

from vsmanager.edge.drain import reset, unacknowledged_bytes
from vsmanager.edge.ws_waits import Flag, Inbox

# How long a closing connection may take to deliver what is queued for it (the close
# frame included) before it is reset.
CLOSE_LINGER_S = 2.0
# How long the client has to answer our close frame once it has been delivered; uvicorn's
# own default (10 s) would keep a stalled client's socket that much longer.
CLOSE_HANDSHAKE_S = 1.0
_POLL_S = 0.1
# The kernel's send buffer for a console socket (Linux doubles it). Left to itself it grows
# to 4 MiB: megabytes of kernel memory per stalled client, and at 1,000 lines/s some 20 s
# before its sends block and the send timeout even begins. 256 KiB keeps a distant admin's
# link busy (2.5 MB/s at 100 ms round trip, 25 times a busy console's rate).
SEND_BUFFER_BYTES = 256 * 1024
# Where the protocol leaves itself in a WebSocket's scope, for frames written as bytes
# (see ConsoleWebSocketProtocol.write_frames).
FRAME_WRITER = "vsmanager.frame_writer"


class BoundedCloseTransport(asyncio.Transport):
    """A connection's transport whose ``close()`` is bounded: it closes once everything
    queued has been acknowledged by the client, or resets the connection after ``linger``
    seconds."""

    __slots__ = ("_deadline", "_linger", "_loop", "_timer", "_transport", "was_reset", "write_open")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop,
                 linger: float) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._linger = linger
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self.was_reset = False
        # The connection's write while it is open, a no-op once it is closing (which is how
        # closing is known): write() is this, and the broadcast's writes to a crowd call it
        # without write()'s own frame.
        self.write_open: Callable[[bytes | bytearray | memoryview], object] = transport.write

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.write_open(data)

    @property
    def _closing(self) -> bool:
        return self.write_open is _drop

    def close(self) -> None:
        if self._closing:
            return
        self.write_open = _drop
        self._deadline = self._loop.time() + self._linger
        self._close_when_drained()

    def abort(self) -> None:
        """Drop the connection now, with a reset: the kernel frees its buffers at once."""
        self.write_open = _drop
        self._cancel_timer()
        self.was_reset = True
        reset(self._transport)

    def connection_lost(self) -> None:
        """The connection is gone (the protocol saw it): nothing is left to watch."""
        self._cancel_timer()

    def is_closing(self) -> bool:
        return self._closing or self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def _close_when_drained(self) -> None:
        self._timer = None
        if self._transport.is_closing():
            return
        if self._transport.get_write_buffer_size() == 0 and unacknowledged_bytes(self._transport) == 0:
            self._transport.close()
        elif self._loop.time() >= self._deadline:
            self.abort()
        else:
            self._timer = self._loop.call_later(_POLL_S, self._close_when_drained)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def _drop(data: bytes | bytearray | memoryview) -> None:
    """What a closing connection's ``write_open`` does with more data: nothing."""


# Handshakes refused by uvicorn or the websockets library, in the API's error shape.
_REJECTION_CODES = {400: "bad_request", 403: "forbidden", 414: "uri_too_long",
                    431: "request_headers_too_large", 500: "internal_error"}


def json_rejection(reject: Callable[[Any, str], Response]) -> Callable[[Any, str], Response]:
    """The websockets library's ``reject`` (a text/plain answer), answering in JSON instead."""

    def rejection(status: Any, text: str) -> Response:
        response = reject(status, text)
        message = text.strip().removesuffix(".") or response.reason_phrase
        body = json.dumps({"code": _REJECTION_CODES.get(response.status_code, "error"),
                           "message": message}).encode()
        for name in ("Content-Type", "Content-Length"):
            del response.headers[name]
        response.headers["Content-Type"] = "application/json"
        response.headers["Content-Length"] = str(len(body))
        response.body = body
        return response

    return rejection


class ConsoleWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets protocol (``ws=`` in ``uvicorn.Config``), with bounded closes:
    a close frame is queued at once rather than after the buffer drains, the client has
    :data:`CLOSE_HANDSHAKE_S` to answer it, and every close is a :class:`BoundedCloseTransport`
    close."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.close_timeout = CLOSE_HANDSHAKE_S
        self.conn.reject = json_rejection(self.conn.reject)  # type: ignore[method-assign,assignment]
        # asyncio's Queue and Event hold some 3.5 KiB before anything is in them: a lot for
        # each of a thousand idle connections (see ws_waits.py).
        self.queue = Inbox(self.loop)  # type: ignore[assignment]
        # uvicorn's `writable`, typed as ours (its `up` is read at each tick of a crowd).
        self.write_flag = Flag(self.loop)
        self.writable = self.write_flag  # type: ignore[assignment]
        self.writable.set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports have a Transport's methods without subclassing it.
        stream = cast(asyncio.Transport, transport)
        sock = stream.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
        self.bounded = BoundedCloseTransport(stream, self.loop, CLOSE_LINGER_S)
        super().connection_made(self.bounded)

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = cast(dict[str, Any] | None, getattr(self, "scope", None))
        if scope is not None:
            scope[FRAME_WRITER] = self

    @property
    def writes_frames(self) -> bool:
        """Whether frames built by the caller may go out as they are: not once
        permessage-deflate is on (each connection has its own compressor)."""
        return not self.conn.extensions

    def write_frames(self, data: bytes) -> None:
        """Write whole data frames, built once for every client that needs them
        (``stream/frames.py``), in one write; the caller waits for :attr:`writable` first,
        as uvicorn's ``send`` does. Raises ``ConnectionResetError`` once the connection is
        closing or gone, where ``send`` would raise ``ClientDisconnected``."""
        if self.disconnected or self.close_sent or self.conn.state is not State.OPEN:
            raise ConnectionResetError("the WebSocket is closing")
        self.bounded.write_open(data)

    def connection_lost(self, exc: Exception | None) -> None:
        transport = self.transport
        super().connection_lost(exc)
        if isinstance(transport, BoundedCloseTransport):
            transport.connection_lost()

    async def send(self, message: ASGISendEvent) -> None:
        if message["type"] == "websocket.close" and self.handshake_complete:
            # uvicorn waits for the buffer to drain before any frame, the close included; a
            # stalled client never drains it. A close frame is a few bytes: queue it behind
            # what is already there, for a client that wakes in time to read it. Nothing is
            # sent after a close, so the flag cannot let a data frame through.
            self.writable.set()
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            # The handshake's request and answer (their headers are most of it) are not
            # read again once the answer went out; the scope keeps the request's headers.
            del self.request, self.response
