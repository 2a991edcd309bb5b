"""Who a request comes from: the peer, or what a trusted reverse proxy says it forwarded.

``X-Forwarded-For``, ``X-Real-IP`` and ``X-Forwarded-Proto`` are believed only from peers in
``VS_TRUSTED_PROXIES``; anyone else could write any address into them. Every log line, cap
and throttle asks :func:`client_address` (or :func:`client_host`), so they all agree.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from vsmanager.config.values import Network

# Where the middleware leaves the TCP peer, once scope["client"] names the forwarded client.
PEER = "vsmanager.peer"


class TrustedProxies:
    """The peers whose forwarding headers are believed. Pure: no I/O."""

    def __init__(self, networks: Iterable[Network]) -> None:
        self.networks = tuple(networks)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def is_trusted(self, host: str | None) -> bool:
        if not self.networks or not host:
            return False
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def forwarded_client(self, peer: str, forwarded_for: str | None, real_ip: str | None) -> str:
        """The client a trusted ``peer`` forwarded for; the peer itself when it is untrusted
        or says nothing usable. X-Forwarded-For is read from the right: the nearest entry
        not itself a trusted proxy is the one no client could forge."""
        if not self.is_trusted(peer):
            return peer
        if forwarded_for:
            hops = [hop.strip() for hop in forwarded_for.split(",")]
            for hop in reversed(hops):
                if not _is_address(hop):
                    return peer  # garbage in the chain: believe none of it
                if not self.is_trusted(hop):
                    return _plain(hop)
            return _plain(hops[0])
        if real_ip and _is_address(real_ip.strip()):
            return _plain(real_ip.strip())
        return peer


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


def _plain(text: str) -> str:
    return str(ipaddress.ip_address(text.strip("[]")))


def _header(scope: Scope, name: bytes) -> str | None:
    values = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k == name]
    return ",".join(values) if values else None


class ClientAddress:
    """ASGI middleware: ``scope["client"]`` becomes the forwarded client for trusted peers."""

    def __init__(self, app: ASGIApp, proxies: TrustedProxies) -> None:
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.proxies:
            peer = scope.get("client")
            if peer and self.proxies.is_trusted(peer[0]):
                scope[PEER] = peer
                host = self.proxies.forwarded_client(
                    peer[0], _header(scope, b"x-forwarded-for"), _header(scope, b"x-real-ip")
                )
                if host != peer[0]:
                    scope["client"] = (host, 0)  # the client's own port is the proxy's secret
                proto = (_header(scope, b"x-forwarded-proto") or "").split(",")[0].strip().lower()
                if proto in ("http", "https"):
                    secure = proto == "https"
                    if scope["type"] == "websocket":
                        scope["scheme"] = "wss" if secure else "ws"
                    else:
                        scope["scheme"] = proto
        await self.app(scope, receive, send)


def _client_of(scope: Scope | HTTPConnection) -> Any:
    if isinstance(scope, HTTPConnection):
        scope = scope.scope
    return scope.get("client")


def client_host(scope: Scope | HTTPConnection) -> str:
    """The client's address without port, as caps and throttles count it."""
    client = _client_of(scope)
    return str(client[0]) if client else "unknown"


def client_address(scope: Scope | HTTPConnection) -> str:
    """``host:port`` for a direct client, ``host`` for one behind a trusted proxy: what every
    log line names. Takes an ASGI scope, a Request or a WebSocket."""
    client = _client_of(scope)
    if not client:
        return "unknown"
    host, port = str(client[0]), client[1]
    if not port:
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
