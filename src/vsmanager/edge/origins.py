"""Which web pages may talk to vsmanager: its own, and those in ``VS_ALLOWED_ORIGINS``.

A browser sends ``Origin`` with every WebSocket handshake and every cross-origin request, and
attaches nothing a page could forge it with; a page on another site that connects here is
refused (403, or close 4003 for a socket). Clients without ``Origin`` (curl, the terminal
client) are not browsers and pass: the key is what they must prove.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from vsmanager.config.values import normalize_origin

WS_4003_FORBIDDEN = 4003
REASON = "origin not allowed"


class OriginPolicy:
    """Pure: is this Origin the page's own (same scheme, host and port) or allowed?"""

    def __init__(self, allowed: frozenset[str]) -> None:
        self.allowed = allowed

    def allows(self, origin: str | None, scheme: str, host: str | None) -> bool:
        if origin is None:
            return True
        own = normalize_origin(origin)
        if own is None:
            return False  # "null" (sandboxed frames, file://) and anything malformed
        if own in self.allowed:
            return True
        if not host:
            return False
        page_scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
        return own == normalize_origin(f"{page_scheme}://{host}")


class OriginCheck:
    """ASGI middleware applying :class:`OriginPolicy` to requests and socket handshakes."""

    def __init__(self, app: ASGIApp, policy: OriginPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            origin = host = None
            for name, value in scope.get("headers", ()):
                if name == b"origin":
                    origin = value.decode("latin-1")
                elif name == b"host":
                    host = value.decode("latin-1")
            if not self.policy.allows(origin, scope.get("scheme", "http"), host):
                await _refuse(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        # Accept, then close: a refused handshake is a bare 403 the page cannot tell apart.
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": WS_4003_FORBIDDEN, "reason": REASON})
        return
    body = json.dumps({"code": "origin_not_allowed", "message": REASON}).encode()
    await send({
        "type": "http.response.start",
        "status": 403,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body})
