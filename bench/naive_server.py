"""The baseline: the naive console design, measured beside vsmanager in the same run.

The reader takes the game's output with ``readline()`` and, inside the append, awaits each
client's send in turn — the design of the manager we compare against (see STYLE.md, "Not to
copy"). One client that stops reading stalls every other client, then the reader, then the
game's stdout. Same URL, key header and frame shapes as vsmanager, so the same load tool
measures both; no history, no slow-client policy.

    python bench/naive_server.py --port 8123 --key KEY --compression false -- CMD ARGS...
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections import deque
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

WS_PATH = "/api/v1alpha1/console/ws"
BUFFER_LINES = 10_000


class NaiveConsole:
    """A history deque and the connected clients; ``append`` sends to each in turn."""

    def __init__(self) -> None:
        self.lines: deque[str] = deque(maxlen=BUFFER_LINES)
        self.clients: dict[WebSocket, bool] = {}  # websocket -> wants JSON
        self.seq = 0

    async def append(self, text: str) -> None:
        self.seq += 1
        self.lines.append(text)
        frame = None
        for ws, as_json in list(self.clients.items()):
            if as_json and frame is None:
                line = {"seq": self.seq, "ts": _now(), "stream": "stdout", "text": text}
                frame = json.dumps({"type": "lines", "lines": [line]})
            try:
                await ws.send_text(frame if as_json else text)  # type: ignore[arg-type]
            except Exception:  # the naive design drops a failing client and carries on
                self.clients.pop(ws, None)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def create_app(command: list[str], key: str) -> Starlette:
    console = NaiveConsole()

    async def pump(proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            await console.append(line.decode(errors="replace").rstrip("\r\n"))

    async def console_ws(ws: WebSocket) -> None:
        given = ws.headers.get("x-api-key") or ws.query_params.get("api_key")
        await ws.accept()
        if given != key:
            await ws.close(4001, "missing or invalid API key")
            return
        if ws.query_params.get("format", "text") == "json":
            await ws.send_text(json.dumps({"type": "status", "state": "running"}))
        console.clients[ws] = ws.query_params.get("format") == "json"
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
        except WebSocketDisconnect:
            return
        finally:
            console.clients.pop(ws, None)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        proc = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        reader = asyncio.create_task(pump(proc))
        try:
            yield
        finally:
            reader.cancel()
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 3)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()

    async def readyz(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ready")

    routes = [WebSocketRoute(WS_PATH, console_ws), Route("/readyz", readyz)]
    return Starlette(routes=routes, lifespan=lifespan)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the naive console server (benchmark baseline)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--compression", choices=["true", "false"], default="false")
    parser.add_argument("command", nargs="+")
    args = parser.parse_args(argv)
    config = uvicorn.Config(
        create_app(args.command, args.key), host="127.0.0.1", port=args.port,
        log_level="warning", ws_per_message_deflate=args.compression == "true",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
