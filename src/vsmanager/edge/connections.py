"""Per-address caps on connections and WebSockets, and one warning per cool-down.

Without a cap, one address can open connections until vsmanager runs out of file
descriptors, and then nobody, the admin included, gets in. The TCP cap is counted by the
peer in the HTTP protocol (see :mod:`vsmanager.edge.httpprotocol`); trusted proxies are exempt
from it, since all their clients share their address. The WebSocket cap is counted here,
by the client address behind any trusted proxy.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog
from starlette.types import ASGIApp, Receive, Scope, Send

from vsmanager.edge.clients import client_host

log = structlog.get_logger("vsmanager.connections")

WS_1013_TRY_AGAIN_LATER = 1013
# A flood of refusals is one warning per this many seconds, with the count since the last.
CAP_LOG_COOLDOWN_S = 60.0


class AddressCounter:
    """How many open things each address holds, against one cap. Pure: no I/O."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._counts: dict[str, int] = {}

    def acquire(self, address: str) -> bool:
        """Count one more for ``address``; False (and nothing counted) when at the cap."""
        held = self._counts.get(address, 0)
        if held >= self.cap:
            return False
        self._counts[address] = held + 1
        return True

    def release(self, address: str) -> None:
        held = self._counts.get(address, 0) - 1
        if held > 0:
            self._counts[address] = held
        else:
            self._counts.pop(address, None)

    def held(self, address: str) -> int:
        return self._counts.get(address, 0)


class CapNotice:
    """Logs a cap being hit at most once per cool-down, however often it is hit."""

    def __init__(self, event: str, cooldown_s: float = CAP_LOG_COOLDOWN_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.event = event
        self.cooldown_s = cooldown_s
        self.clock = clock
        self._last: float | None = None
        self._suppressed = 0

    def hit(self, client: str, **fields: object) -> bool:
        """Note a refusal; True if it was logged."""
        now = self.clock()
        if self._last is not None and now - self._last < self.cooldown_s:
            self._suppressed += 1
            return False
        log.warning(self.event, client=client, **fields, refused_since_last=self._suppressed,
                    cooldown_s=self.cooldown_s)
        self._last, self._suppressed = now, 0
        return True


class WebSocketCap:
    """ASGI middleware: at most ``cap`` open WebSockets per client address; the next one is
    accepted and closed at once with 1013 and a reason, so the client knows to wait."""

    def __init__(self, app: ASGIApp, cap: int) -> None:
        self.app = app
        self.counter = AddressCounter(cap)
        self.notice = CapNotice("websocket_cap_reached")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        address = client_host(scope)
        if not self.counter.acquire(address):
            self.notice.hit(address, cap=self.counter.cap)
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": WS_1013_TRY_AGAIN_LATER,
                            "reason": f"too many connections from {address} (at most {self.counter.cap})"})
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.counter.release(address)
