"""Request bodies: none larger than ``VS_HTTP_MAX_BODY_BYTES``, none read before the key.

A declared ``Content-Length`` over the bound is answered 413 at once; a chunked body is
counted as it arrives and refused the moment it passes the bound. On an API path, a request
whose key is not valid never has its body read: the app sees an empty body, so its key check
(and the throttle behind it) answers 401 without a byte of JSON parsed. Either way the
connection is closed after the answer, since the rest of the body is still on it.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

KeyCheck = Callable[[Scope], bool]


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes", {"Connection": "close"})


def presented_key(scope: Scope) -> str | None:
    """The key a request presents: ``X-API-Key`` or ``Authorization: Bearer``, surrounding
    whitespace trimmed (keys hold none). The one reading of it, for this early check and
    for the routes' key check alike."""
    headers = Headers(scope=scope)
    key = headers.get("x-api-key")
    if key and key.strip():
        return key.strip()
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, guarded_prefix: str, has_valid_key: KeyCheck) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.guarded_prefix = guarded_prefix
        self.has_valid_key = has_valid_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        chunked = "transfer-encoding" in headers
        if declared is not None and declared.strip().isdigit() and int(declared) > self.max_bytes:
            await _too_large(send, self.max_bytes)
            return
        has_body = chunked or (declared is not None and declared.strip() not in ("", "0"))
        pending = has_body  # body bytes may still be on the connection
        received = 0
        started = False

        async def empty_body() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def counted() -> Message:
            nonlocal received, pending
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
                pending = bool(message.get("more_body"))
            return message

        async def closing_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            if message["type"] == "http.response.start" and pending:
                message = {**message, "headers": [*message.get("headers", ()), (b"connection", b"close")]}
            await send(message)

        downstream: Receive = counted
        if has_body and scope["path"].startswith(self.guarded_prefix) and not self.has_valid_key(scope):
            downstream = empty_body
        try:
            await self.app(scope, downstream, closing_send)
        except BodyTooLarge:
            # Raised outside FastAPI's handlers (e.g. by a plain Starlette route): answer here.
            if not started:
                await _too_large(send, self.max_bytes)


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps({"code": "payload_too_large",
                       "message": f"request body larger than {limit} bytes"}).encode()
    await send({
        "type": "http.response.start",
        "status": 413,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()), (b"connection", b"close")],
    })
    await send({"type": "http.response.body", "body": body})
