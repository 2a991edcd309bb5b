"""Following the live console over the WebSocket, reconnecting and resuming by seq.

``Resume`` is the pure part (which lines are new, what to ask for on reconnect);
``ConsoleWatcher`` is the socket loop around it. See docs/terminal.md.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from vsmanager import __version__
from vsmanager.console.buffer import Gap
from vsmanager.remote.api import (
    ApiClient,
    Backoff,
    ClientError,
    Refused,
    Unreachable,
    key_refused,
    needs_admin,
)
from vsmanager.remote.endpoint import Endpoint

# The server's close codes (streaming.py), repeated so the client need not import the server.
WS_1000_NORMAL = 1000
WS_1012_SERVICE_RESTART = 1012
WS_4001_UNAUTHORIZED = 4001
WS_4003_FORBIDDEN = 4003
WS_4008_TOO_SLOW = 4008
WS_4029_TOO_MANY_FAILURES = 4029
WS_4400_BAD_REQUEST = 4400

# Large enough for a full batch of long lines (1000 x 16 KiB with JSON overhead).
MAX_FRAME_BYTES = 64 * 1024 * 1024
OPEN_TIMEOUT_S = 10.0

Line = Mapping[str, Any]


class Resume:
    """Where the console stands: which numbering (vsmanager's ``console_id``) and the seq of
    the last line delivered in it. Drops duplicates, notices gaps the server did not announce,
    and starts afresh when vsmanager's numbering began again.

    ``last_seq`` None means afresh: the next lines are the first of a numbering, whatever
    their seq (a fresh connection gets the newest ``history_lines``, not seq 1 onwards)."""

    def __init__(self, after: int | None, console_id: str | None = None) -> None:
        self.last_seq = after
        self.console_id = console_id

    def query(self) -> dict[str, str]:
        """What to ask for on (re)connecting: the lines after ours, in our numbering."""
        if self.last_seq is None:
            return {}
        query = {"after": str(self.last_seq)}
        if self.console_id is not None:
            query["console_id"] = self.console_id
        return query

    def accept(self, lines: Sequence[Line]) -> tuple[list[Line], Gap | None]:
        last = self.last_seq
        fresh = [line for line in lines if last is None or int(line["seq"]) > last]
        gap = None
        if fresh and last is not None and int(fresh[0]["seq"]) > last + 1:
            gap = Gap(last + 1, int(fresh[0]["seq"]) - 1)
        if fresh:
            self.last_seq = int(fresh[-1]["seq"])
        return fresh, gap

    def skip(self, gap: Gap) -> Gap | None:
        """A gap frame: the missing lines, minus any already delivered."""
        last = self.last_seq
        if last is not None and gap.to_seq <= last:
            return None
        missing = gap if last is None else Gap(max(gap.from_seq, last + 1), gap.to_seq)
        self.last_seq = gap.to_seq
        return missing

    def is_other_numbering(self, console_id: object) -> bool:
        """A status names this console: is it another numbering than the one we follow?"""
        return (isinstance(console_id, str) and self.console_id is not None
                and console_id != self.console_id)

    def identify(self, console_id: object) -> None:
        """Learn the numbering we follow from the first status that names it."""
        if self.console_id is None and isinstance(console_id, str):
            self.console_id = console_id

    def restart(self, console_id: str | None = None) -> None:
        """vsmanager restarted: forget the old numbering, take the next lines afresh."""
        self.last_seq = None
        self.console_id = console_id


class Listener(Protocol):
    def on_connected(self, url: str, after: int | None) -> None: ...
    def on_lines(self, lines: list[Line]) -> None: ...
    def on_gap(self, gap: Gap) -> None: ...
    def on_status(self, status: Mapping[str, Any]) -> None: ...
    def on_error(self, code: str, message: str) -> None: ...
    def on_notice(self, message: str) -> None: ...


RESTARTED_NOTICE = ("vsmanager restarted since (its console is numbered anew): lines it wrote "
                    "while this terminal was away may be missing; showing its console afresh")


class _Lost(Exception):
    def __init__(self, reason: str, *, at_once: bool = False, quiet: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.at_once = at_once
        self.quiet = quiet


class ConsoleWatcher:
    """Streams the console after ``after`` to a listener until cancelled; reconnects with
    backoff, at most ``retries`` failures in a row (None: without end)."""

    def __init__(self, endpoint: Endpoint, listener: Listener, *, after: int | None,
                 console_id: str | None = None, retries: int | None = None) -> None:
        self.endpoint = endpoint
        self.listener = listener
        self.resume = Resume(after, console_id)
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
        # Its own retries are this loop's: one attempt per connection.
        async with ApiClient(self.endpoint, retries=0) as api:
            while True:
                try:
                    await self._stream(api, backoff)
                except _Lost as lost:
                    await self._pause(lost, backoff)

    async def _pause(self, lost: _Lost, backoff: Backoff) -> None:
        """Between connections: give up after ``retries`` failures in a row, else wait."""
        if self.retries is not None and backoff.failures >= self.retries:
            raise Unreachable(lost.reason) from None
        delay = 0.0 if lost.at_once else backoff.next_delay()
        if not lost.quiet:
            self.listener.on_notice(f"{lost.reason}; reconnecting in {delay:.1f} s")
        await asyncio.sleep(delay)

    async def _open(self, api: ApiClient) -> tuple[str, dict[str, str]]:
        """The socket's URL and headers: a fresh ticket each time, else the key in a header
        (a vsmanager without tickets); the key itself never goes in the URL."""
        try:
            ticket = await api.ticket()
        except Unreachable as exc:
            raise _Lost(exc.message) from None
        except Refused as exc:  # 429: too many failures from this address, for now
            raise _Lost(f"vsmanager refused a ticket: {exc.message}") from None
        query = {"format": "json", **self.resume.query()}
        headers = {}
        if ticket is None:
            headers["Authorization"] = f"Bearer {self.endpoint.key}"
        else:
            query["ticket"] = ticket
        return f"{self.endpoint.console_ws}?{urlencode(query)}", headers

    async def _stream(self, api: ApiClient, backoff: Backoff) -> None:
        url, headers = await self._open(api)
        try:
            async with connect(
                url,
                additional_headers=headers,
                user_agent_header=f"vsmanager/{__version__}",
                open_timeout=OPEN_TIMEOUT_S,
                max_size=MAX_FRAME_BYTES,
                close_timeout=2,
            ) as ws:
                try:
                    await self._receive(ws, backoff)
                except (asyncio.CancelledError, _Lost):
                    # Done (Ctrl-C, Ctrl-D, `send` finished) or starting afresh: a normal
                    # close, not the 1011 websockets sends when its block raises.
                    await ws.close(WS_1000_NORMAL, "done")
                    raise
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
        """One frame. Raises _Lost to reconnect afresh when the numbering changed unsaid."""
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
            status = {k: v for k, v in frame.items() if k != "type"}
            if self.resume.is_other_numbering(status.get("console_id")):
                # A vsmanager that does not check console_id itself: its lines after our seq
                # are another numbering's. Start afresh rather than print them as ours.
                self.resume.restart()
                self.listener.on_notice(RESTARTED_NOTICE)
                raise _Lost("reconnecting afresh", at_once=True, quiet=True)
            self.resume.identify(status.get("console_id"))
            self.listener.on_status(status)
        elif kind == "error":
            code, text = str(frame.get("code", "error")), str(frame.get("message", ""))
            if code in ("console_restarted", "after_out_of_range"):
                self.resume.restart()
                self.listener.on_notice(RESTARTED_NOTICE)
            else:
                self.listener.on_error(code, text)

    def _closed(self, ws: ClientConnection) -> Exception:
        code = ws.close_code or 1006
        reason = ws.close_reason or ""
        if code == WS_4001_UNAUTHORIZED:
            return key_refused(self.endpoint, reason or "invalid key")
        if code == WS_4003_FORBIDDEN:
            return needs_admin(self.endpoint, "the console")
        if code == WS_4400_BAD_REQUEST:
            return ClientError(f"vsmanager refused the request: {reason}", "bad_request")
        if code == WS_4008_TOO_SLOW:
            return _Lost("this terminal fell behind the console (close 4008)", at_once=True)
        if code == WS_4029_TOO_MANY_FAILURES:
            reason = reason or "too many failed authentications"
            return _Lost(f"vsmanager refused this address for now: {reason} (close 4029)")
        if code == WS_1012_SERVICE_RESTART:
            return _Lost("vsmanager is shutting down (close 1012)")
        return _Lost(f"connection lost (close {code})")

    def _refusal(self, status: int) -> Exception:
        if status == 401:
            return key_refused(self.endpoint, "invalid key")
        if status == 403:
            return needs_admin(self.endpoint, "the console")
        if 400 <= status < 500 and status not in (408, 429):
            return ClientError(f"no vsmanager console at {self.endpoint.url} (HTTP {status})")
        return _Lost(f"vsmanager answered HTTP {status}")
