"""uvicorn's httptools protocol with the bounds it lacks: header size, header time, peers,
requests read ahead, sends that do not drain, and the names a request may give in Host.

httptools gathers a header, and uvicorn the URL, by concatenating the pieces as they arrive:
a 100 MB header costs quadratic time in the event loop (16 s measured), and nothing stops a
client that sends half a request and waits. Here every request's head is fed to the parser
in bounded pieces and counted; past ``VS_HTTP_MAX_HEADER_BYTES`` it is answered 431, and a
head not complete within ``VS_HTTP_HEADER_TIMEOUT`` is answered 408; both close the
connection. Each peer may hold ``VS_HTTP_MAX_CONNECTIONS_PER_CLIENT`` connections (trusted
proxies excepted); the next is answered 503 once its head has arrived.

The parser is fed in small pieces, so that it stops soon when the connection must not read
further ahead of its answers (:mod:`vsmanager.edge.readahead`). A response that does not
drain within ``VS_HTTP_SEND_TIMEOUT`` resets the connection (:mod:`vsmanager.edge.drain`). A
Host that is not allowed (:mod:`vsmanager.edge.hosts`) gets 421, a malformed request 400,
both in the API's JSON error shape, before any route or key check.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from vsmanager.config.settings import Settings
from vsmanager.config.values import parse_hosts
from vsmanager.edge.clients import TrustedProxies
from vsmanager.edge.connections import AddressCounter, CapNotice
from vsmanager.edge.drain import SendDeadline
from vsmanager.edge.hosts import HostPolicy, host_name
from vsmanager.edge.readahead import ReadAhead

# After refusing a request whose rest is still arriving, keep reading (and dropping) it this
# long before closing: closing a socket with unread data makes the kernel send a reset,
# which can destroy the refusal before the client has read it.
LINGER_S = 2.0
# Bytes fed to the parser at once: one piece holds at most a few dozen tiny requests, so
# the queue stops within that many of readahead.PIPELINE_DEPTH.
PIECE_BYTES = 512
# A Host longer than this is cut in the log line that refuses it.
LOGGED_HOST_CHARS = 100


class _Refused(Exception):
    """Raised from a parser callback to stop parsing a request already answered."""


class _LingeringTransport:
    """The transport as a request's cycle sees it: a close while the request body is still
    arriving becomes a lingering close (see LINGER_S); any other close waits for the
    response to drain, within the send timeout."""

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
            self._protocol.close_when_drained()


class GuardedHttpProtocol(HttpToolsProtocol):
    # Bound per server by protocol_class(); one counter for all its connections.
    max_header_bytes: ClassVar[int] = 16 * 1024
    header_timeout_s: ClassVar[float] = 5.0
    peers: ClassVar[AddressCounter] = AddressCounter(32)
    trusted: ClassVar[TrustedProxies] = TrustedProxies(())
    cap_notice: ClassVar[CapNotice] = CapNotice("connection_cap_reached")
    size_notice: ClassVar[CapNotice] = CapNotice("request_headers_too_large")
    slow_notice: ClassVar[CapNotice] = CapNotice("request_header_timeout")
    send_timeout_s: ClassVar[float] = 10.0
    hosts: ClassVar[HostPolicy] = HostPolicy(frozenset())
    host_notice: ClassVar[CapNotice] = CapNotice("host_not_allowed")
    invalid_notice: ClassVar[CapNotice] = CapNotice("invalid_http_request")
    send_notice: ClassVar[CapNotice] = CapNotice("http_send_timeout")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._peer: str | None = None  # set while this connection is counted
        self._over_cap = False
        self._refused = False
        self._linger_timer: asyncio.TimerHandle | None = None
        self._deadline: SendDeadline  # both from connection_made on
        self._ahead: ReadAhead

    # -- connection -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline = SendDeadline(transport, self.loop, self.send_timeout_s, self._send_timed_out)
        self._ahead = ReadAhead(transport, self.loop, self._deadline, queued=lambda: len(self.pipeline),
                                answering=lambda: self.cycle is not None, feed=self._feed)
        self.flow = self._ahead.flow
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
        self._deadline.connection_lost()
        self._ahead.stop()
        self._release()
        super().connection_lost(exc)

    def _release(self) -> None:
        if self._peer is not None:
            self.peers.release(self._peer)
            self._peer = None

    def handle_websocket_upgrade(self) -> None:
        super().handle_websocket_upgrade()
        # From here the socket's protocol is the WebSocket one: it must release our count.
        # It gets the count alone: holding this protocol would keep its parser, request and
        # read-ahead for as long as the WebSocket is open (about 6 KiB a connection).
        ws_protocol = self.transport.get_protocol()
        peer, self._peer = self._peer, None
        ws_protocol.connection_lost = _releasing(  # type: ignore[method-assign,assignment]
            ws_protocol.connection_lost, self.peers, peer)

    # -- data -----------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._ahead.holding:
            self._ahead.add(data)
            return
        self._feed(data)

    def _feed(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        while data:
            if self._ahead.must_wait():
                self._ahead.hold(data)
                return
            if self._in_head:
                room = self.max_header_bytes - self._head_bytes
                if room <= 0:
                    client = self.client[0] if self.client else "unknown"
                    self.size_notice.hit(client, limit=self.max_header_bytes)
                    self._refuse(431, "request_headers_too_large",
                                 f"request line and headers larger than {self.max_header_bytes} bytes")
                    return
                piece, data = data[: min(room, PIECE_BYTES)], data[min(room, PIECE_BYTES) :]
                self._head_bytes += len(piece)
            else:
                piece, data = data[:PIECE_BYTES], data[PIECE_BYTES:]
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
                if not self._refused:
                    self.send_400_response("Invalid HTTP request received.")
                return

    # -- answers: read ahead only while they are taken; each must drain in time -----------

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._ahead.wake()

    def pause_writing(self) -> None:
        super().pause_writing()
        self._deadline.stalled()

    def resume_writing(self) -> None:
        super().resume_writing()
        self._deadline.flowing()
        self._ahead.wake()

    def timeout_keep_alive_handler(self) -> None:
        if not self._ahead.holding:  # requests held back: not idle
            self.close_when_drained()

    def shutdown(self) -> None:
        if self.cycle is None or self.cycle.response_complete:
            self.close_when_drained()
        else:
            self.cycle.keep_alive = False

    def close_when_drained(self) -> None:
        self._deadline.close()

    def _send_timed_out(self) -> None:
        client = self.client[0] if self.client else "unknown"
        self.send_notice.hit(client, timeout_s=self.send_timeout_s)

    # -- parser callbacks -----------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        self._disarm_head_timer()
        refused_host = self._refused_host()
        if refused_host is not None:
            client = self.client[0] if self.client else "unknown"
            shown = refused_host[:LOGGED_HOST_CHARS]
            self.host_notice.hit(client, host=shown)
            self._refuse(421, "host_not_allowed",
                         f"{shown!r} is not a name this server answers to (see VS_ALLOWED_HOSTS)")
            raise _Refused
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

    def _refused_host(self) -> str | None:
        """A name in Host, or from a trusted proxy in X-Forwarded-Host, that is not allowed.
        Every entry counts: a proxy that appends to a client's X-Forwarded-Host leaves the
        client's (a rebound page can set it) at the left."""
        peer = self.client[0] if self.client else None
        names = (b"host", b"x-forwarded-host") if peer and self.trusted.is_trusted(peer) else (b"host",)
        for name, value in self.headers:
            if name in names:
                for text in value.decode("latin-1").split(","):
                    if not self.hosts.allows(text):
                        return host_name(text)
        return None

    # -- refusals -------------------------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        # uvicorn's own answer is text/plain: the API's clients expect the JSON error shape.
        client = self.client[0] if self.client else "unknown"
        self.invalid_notice.hit(client)
        self._refuse(400, "bad_request", "malformed HTTP request")

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
        self._ahead.stop()
        if self.transport.can_write_eof():
            self.transport.write_eof()
        if self._linger_timer is None:
            self._linger_timer = self.loop.call_later(LINGER_S, self.close_when_drained)


def protocol_class(settings: Settings, trusted: TrustedProxies,
                   listen: str | None = None) -> type[GuardedHttpProtocol]:
    """A protocol class bound to these settings (and the address it listens on), with its
    own per-peer counter."""
    return type("GuardedHttpProtocol", (GuardedHttpProtocol,), {
        "max_header_bytes": settings.http_max_header_bytes,
        "header_timeout_s": settings.http_header_timeout,
        "peers": AddressCounter(settings.http_max_connections_per_client),
        "trusted": trusted,
        "cap_notice": CapNotice("connection_cap_reached"),
        "size_notice": CapNotice("request_headers_too_large"),
        "slow_notice": CapNotice("request_header_timeout"),
        "send_timeout_s": settings.http_send_timeout,
        "hosts": HostPolicy(parse_hosts(settings.allowed_hosts), listen),
        "host_notice": CapNotice("host_not_allowed"),
        "invalid_notice": CapNotice("invalid_http_request"),
        "send_notice": CapNotice("http_send_timeout"),
    })


def _releasing(lost: Callable[[Exception | None], None], peers: AddressCounter,
               peer: str | None) -> Callable[[Exception | None], None]:
    """``lost``, then the release of ``peer``'s count (if it was counted)."""

    def connection_lost(exc: Exception | None) -> None:
        try:
            lost(exc)
        finally:
            if peer is not None:
                peers.release(peer)

    return connection_lost
