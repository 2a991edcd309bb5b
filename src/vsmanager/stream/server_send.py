"""The server's own ASGI send, kept for console frames (see :class:`KeepServerSend`)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

# Where KeepServerSend leaves the server's own ASGI send in a WebSocket's scope.
SERVER_SEND = "vsmanager.server_send"


class KeepServerSend:
    """ASGI middleware that keeps the server's send for console frames.

    Between the server and a WebSocket endpoint, Starlette and FastAPI wrap ``send`` in
    layers that only note whether an HTTP response has started; a crowd of JSON clients
    sends thousands of frames a second, and each layer is a coroutine per frame. Frames go
    straight to the server's send; accepting, closing and receiving still go through
    Starlette's WebSocket.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[SERVER_SEND] = send
        await self.app(scope, receive, send)
