"""uvicorn's httptools protocol with the bounds it lacks: header size, header time, peers.

httptools gathers a header, and uvicorn the URL, by concatenating the pieces as they arrive:
a 100 MB header costs quadratic time in the event loop (16 s measured), and nothing stops a
client that sends half a request and waits. Here every request's head is fed to the parser
in bounded pieces and counted; past ``VS_HTTP_MAX_HEADER_BYTES`` it is answered 431, and a
head not complete within ``VS_HTTP_HEADER_TIMEOUT`` is answered 408; both close the
connection. Each peer may hold ``VS_HTTP_MAX_CONNECTIONS_PER_CLIENT`` connections (trusted
proxies excepted); the next is answered 503 once its head has arrived.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from vsmanager.config.settings import Settings
from vsmanager.edge.clients import TrustedProxies
from vsmanager.edge.connections import AddressCounter, CapNotice

# After refusing a request whose rest is still arriving, keep reading (and dropping) it this
# long before closing: closing a socket with unread data makes the kernel send a reset,
# which can destroy the refusal before the client has read it.
LINGER_S = 2.0


class _Refused(Exception):
    """Raised from a parser callback to stop parsing a request already answered."""


class _LingeringTransport:
    """The transport as a request's cycle sees it: a close while the request body is still
    arriving becomes a lingering close (see LINGER_S)."""

    def __init__(self, protocol: GuardedHttpProtocol, transport: asyncio.Transport) -> None:
        self._protocol = protocol
        self._transport = transport

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def close(self) -> None:
        cycle = self._protocol.cycle
        if cycle is not None and cycle.more_body and not self._transport.is_closing():
            self._protocol.linger_close()
        else:
            self._transport.close()


class GuardedHttpProtocol(HttpToolsProtocol):
    # Bound per server by protocol_class(); one counter for all its connections.
    max_header_bytes: ClassVar[int] = 16 * 1024
    header_timeout_s: ClassVar[float] = 5.0
    peers: ClassVar[AddressCounter] = AddressCounter(32)
    trusted: ClassVar[TrustedProxies] = TrustedProxies(())
    cap_notice: ClassVar[CapNotice] = CapNotice("connection_cap_reached")
    size_notice: ClassVar[CapNotice] = CapNotice("request_headers_too_large")
    slow_notice: ClassVar[CapNotice] = CapNotice("request_header_timeout")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._peer: str | None = None  # set while this connection is counted
        self._over_cap = False
        self._refused = False
        self._linger_timer: asyncio.TimerHandle | None = None

    # -- connection -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        peer = self.client[0] if self.client else None
        if peer is not None and not self.trusted.is_trusted(peer):
            if self.peers.acquire(peer):
                self._peer = peer
            else:
                self._over_cap = True
                self.cap_notice.hit(peer, cap=self.peers.cap)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        if self._linger_timer is not None:
            self._linger_timer.cancel()
        self._release()
        super().connection_lost(exc)

    def _release(self) -> None:
        if self._peer is not None:
            self.peers.release(self._peer)
            self._peer = None

    def handle_websocket_upgrade(self) -> None:
        super().handle_websocket_upgrade()
        # From here the socket's protocol is the WebSocket one: it must release our count.
        ws_protocol = self.transport.get_protocol()
        lost = ws_protocol.connection_lost

        def connection_lost(exc: Exception | None) -> None:
            try:
                lost(exc)
            finally:
                self._release()

        ws_protocol.connection_lost = connection_lost  # type: ignore[method-assign]

    # -- data -----------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._unset_keepalive_if_required()
        while data:
            if self._in_head:
                room = self.max_header_bytes - self._head_bytes
                if room <= 0:
                    client = self.client[0] if self.client else "unknown"
                    self.size_notice.hit(client, limit=self.max_header_bytes)
                    self._refuse(431, "request_headers_too_large",
                                 f"request line and headers larger than {self.max_header_bytes} bytes")
                    return
                piece, data = data[:room], data[room:]
                self._head_bytes += len(piece)
            else:
                # Bodies in bounded pieces too, so a pipelined request's head is counted soon.
                piece, data = data[: self.max_header_bytes], data[self.max_header_bytes :]
            try:
                self.parser.feed_data(piece)
            except httptools.HttpParserUpgrade:
                if self._refused:
                    return
                if self._should_upgrade():
                    self.handle_websocket_upgrade()
                    if data:
                        self.transport.get_protocol().data_received(data)  # type: ignore[attr-defined]
                else:
                    self._unsupported_upgrade_warning()
                return
            except httptools.HttpParserError:
                if self._refused:
                    return
                self.logger.warning("Invalid HTTP request received.")
                self.send_400_response("Invalid HTTP request received.")
                return

    # -- parser callbacks -----------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        self._disarm_head_timer()
        if self._over_cap:
            self._refuse(503, "too_many_connections",
                         f"too many connections from this address (at most {self.peers.cap})")
            raise _Refused
        super().on_headers_complete()
        if self.cycle is not None and not isinstance(self.cycle.transport, _LingeringTransport):
            self.cycle.transport = _LingeringTransport(self, self.transport)  # type: ignore[assignment]

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._head_bytes = 0

    # -- refusals -------------------------------------------------------------------------

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self._in_head or self.transport.is_closing():
            return
        if self._head_bytes == 0 and self.cycle is not None:
            # Idle between requests: uvicorn's keep-alive timeout is the one that applies.
            return
        client = self.client[0] if self.client else "unknown"
        self.slow_notice.hit(client, timeout_s=self.header_timeout_s)
        self._refuse(408, "request_timeout",
                     f"request headers not complete within {self.header_timeout_s} s")

    def _refuse(self, status: int, code: str, message: str) -> None:
        self._refused = True
        self._disarm_head_timer()
        body = json.dumps({"code": code, "message": message}).encode()
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content += [name, b": ", value, b"\r\n"]
        content += [
            b"content-type: application/json\r\n",
            b"content-length: ", str(len(body)).encode(), b"\r\n",
            b"connection: close\r\n\r\n",
            body,
        ]
        if not self.transport.is_closing():
            self.transport.write(b"".join(content))
            self.linger_close()

    def linger_close(self) -> None:
        """Send what is written and a FIN, drop whatever still arrives, close after LINGER_S."""
        self._refused = True  # data_received drops everything from now on
        if self.transport.can_write_eof():
            self.transport.write_eof()
        if self._linger_timer is None:
            self._linger_timer = self.loop.call_later(LINGER_S, self.transport.close)


def protocol_class(settings: Settings, trusted: TrustedProxies) -> type[GuardedHttpProtocol]:
    """A protocol class bound to these settings, with its own per-peer counter."""
    return type("GuardedHttpProtocol", (GuardedHttpProtocol,), {
        "max_header_bytes": settings.http_max_header_bytes,
        "header_timeout_s": settings.http_header_timeout,
        "peers": AddressCounter(settings.http_max_connections_per_client),
        "trusted": trusted,
        "cap_notice": CapNotice("connection_cap_reached"),
        "size_notice": CapNotice("request_headers_too_large"),
        "slow_notice": CapNotice("request_header_timeout"),
    })
