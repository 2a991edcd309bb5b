"""Following the live console over the WebSocket, reconnecting and resuming by seq.

``Resume`` is the pure part (which lines are new, what to ask for on reconnect);
``ConsoleWatcher`` is the socket loop around it. See docs/terminal.md.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any, Protocol

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from vsmanager import __version__
from vsmanager.console import Gap
from vsmanager.remote.api import AuthRefused, Backoff, ClientError, Unreachable
from vsmanager.remote.endpoint import Endpoint

# The server's close codes (streaming.py), repeated so the client need not import the server.
WS_1012_SERVICE_RESTART = 1012
WS_4001_UNAUTHORIZED = 4001
WS_4003_FORBIDDEN = 4003
WS_4008_TOO_SLOW = 4008
WS_4400_BAD_REQUEST = 4400

# Large enough for a full batch of long lines (1000 x 16 KiB with JSON overhead).
MAX_FRAME_BYTES = 64 * 1024 * 1024
OPEN_TIMEOUT_S = 10.0

Line = Mapping[str, Any]


class Resume:
    """Where the console stands: the seq of the last line delivered. Drops duplicates,
    notices gaps the server did not announce, and forgets everything when vsmanager's
    numbering began again."""

    def __init__(self, after: int) -> None:
        self.last_seq = after

    def accept(self, lines: list[Line]) -> tuple[list[Line], Gap | None]:
        fresh = [line for line in lines if int(line["seq"]) > self.last_seq]
        gap = None
        if fresh and int(fresh[0]["seq"]) > self.last_seq + 1:
            gap = Gap(self.last_seq + 1, int(fresh[0]["seq"]) - 1)
        if fresh:
            self.last_seq = int(fresh[-1]["seq"])
        return fresh, gap

    def skip(self, gap: Gap) -> Gap | None:
        """A gap frame: the missing lines, minus any already delivered."""
        if gap.to_seq <= self.last_seq:
            return None
        missing = Gap(max(gap.from_seq, self.last_seq + 1), gap.to_seq)
        self.last_seq = gap.to_seq
        return missing

    def restart(self) -> None:
        self.last_seq = 0


class Listener(Protocol):
    def on_connected(self, url: str, after: int) -> None: ...
    def on_lines(self, lines: list[Line]) -> None: ...
    def on_gap(self, gap: Gap) -> None: ...
    def on_status(self, status: Mapping[str, Any]) -> None: ...
    def on_error(self, code: str, message: str) -> None: ...
    def on_notice(self, message: str) -> None: ...


class _Lost(Exception):
    def __init__(self, reason: str, *, at_once: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.at_once = at_once


class ConsoleWatcher:
    """Streams the console after ``after`` to a listener until cancelled; reconnects with
    backoff, at most ``retries`` failures in a row (None: without end)."""

    def __init__(self, endpoint: Endpoint, listener: Listener, *, after: int,
                 retries: int | None = None) -> None:
        self.endpoint = endpoint
        self.listener = listener
        self.resume = Resume(after)
        self.retries = retries
        self.connections = 0
        self._ws: ClientConnection | None = None
        self._connected = asyncio.Event()

    @property
    def is_connected(self) -> bool:
        return self._ws is not None

    async def wait_connected(self) -> None:
        await self._connected.wait()

    async def send_command(self, command: str) -> bool:
        """Send a console command over the socket; False when not connected just now."""
        ws = self._ws
        if ws is None:
            return False
        try:
            await ws.send(json.dumps({"type": "command", "command": command}))
        except ConnectionClosed:
            return False
        return True

    async def run(self) -> None:
        backoff = Backoff()
        while True:
            try:
                await self._stream(backoff)
            except _Lost as lost:
                if self.retries is not None and backoff.failures >= self.retries:
                    raise Unreachable(lost.reason) from None
                delay = 0.0 if lost.at_once else backoff.next_delay()
                self.listener.on_notice(f"{lost.reason}; reconnecting in {delay:.1f} s")
                await asyncio.sleep(delay)

    async def _stream(self, backoff: Backoff) -> None:
        url = f"{self.endpoint.console_ws}?format=json&after={self.resume.last_seq}"
        headers = {"X-API-Key": self.endpoint.key}
        try:
            async with connect(
                url,
                additional_headers=headers,
                user_agent_header=f"vsmanager/{__version__}",
                open_timeout=OPEN_TIMEOUT_S,
                max_size=MAX_FRAME_BYTES,
                close_timeout=2,
            ) as ws:
                await self._receive(ws, backoff)
        except InvalidStatus as exc:
            raise self._refusal(exc.response.status_code) from None
        except InvalidURI as exc:
            raise ClientError(f"bad URL {self.endpoint.url}: {exc}") from None
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            raise _Lost(f"cannot reach vsmanager at {self.endpoint.url}: "
                        f"{exc or type(exc).__name__}") from None
        finally:
            self._ws = None
            self._connected.clear()

    async def _receive(self, ws: ClientConnection, backoff: Backoff) -> None:
        try:
            async for message in ws:
                if not self.is_connected:
                    # Connected means the server took the key and sent its first frame.
                    self._ws = ws
                    self._connected.set()
                    self.connections += 1
                    backoff.reset()
                    self.listener.on_connected(self.endpoint.url, self.resume.last_seq)
                self._handle(message)
        except ConnectionClosed:
            pass
        raise self._closed(ws)

    def _handle(self, message: str | bytes) -> None:
        try:
            frame = json.loads(message)
        except ValueError:
            self.listener.on_notice("ignored a frame that is not JSON")
            return
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind == "lines":
            lines, gap = self.resume.accept(list(frame.get("lines") or []))
            if gap is not None:
                self.listener.on_gap(gap)
            if lines:
                self.listener.on_lines(lines)
        elif kind == "gap":
            missing = self.resume.skip(Gap(int(frame["from_seq"]), int(frame["to_seq"])))
            if missing is not None:
                self.listener.on_gap(missing)
        elif kind == "status":
            self.listener.on_status({k: v for k, v in frame.items() if k != "type"})
        elif kind == "error":
            code, text = str(frame.get("code", "error")), str(frame.get("message", ""))
            if code == "after_out_of_range":
                self.resume.restart()
                self.listener.on_notice("vsmanager restarted and numbers lines anew; "
                                        "showing everything it holds")
            else:
                self.listener.on_error(code, text)

    def _closed(self, ws: ClientConnection) -> Exception:
        code = ws.close_code or 1006
        reason = ws.close_reason or ""
        if code == WS_4001_UNAUTHORIZED:
            return AuthRefused("the API key was refused (close 4001)", "unauthorized")
        if code == WS_4003_FORBIDDEN:
            return AuthRefused("the console needs the admin key; the key given has the monitor "
                               "role (close 4003)", "forbidden")
        if code == WS_4400_BAD_REQUEST:
            return ClientError(f"vsmanager refused the request: {reason}", "bad_request")
        if code == WS_4008_TOO_SLOW:
            return _Lost("this terminal fell behind the console (close 4008)", at_once=True)
        if code == WS_1012_SERVICE_RESTART:
            return _Lost("vsmanager is shutting down (close 1012)")
        return _Lost(f"connection lost (close {code})")

    def _refusal(self, status: int) -> Exception:
        if status in (401, 403):
            return AuthRefused(f"the WebSocket was refused with HTTP {status}")
        if 400 <= status < 500 and status not in (408, 429):
            return ClientError(f"no vsmanager console at {self.endpoint.url} (HTTP {status})")
        return _Lost(f"vsmanager answered HTTP {status}")
