"""The HTTP side of the terminal client: status, lifecycle, history and commands.

Low-level failures are translated here, once, into the few errors the commands act on.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from vsmanager import __version__
from vsmanager.remote.endpoint import Endpoint

T = TypeVar("T")

# The history endpoint's largest page (routes/console.py HISTORY_MAX_LINES).
HISTORY_PAGE_LINES = 10_000
# The server holds a lifecycle request at most this long (routes/server.py MAX_WAIT_S).
MAX_SERVER_WAIT_S = 120.0
# The longest command the API takes (routes/console.py CommandIn).
COMMAND_MAX_CHARS = 1000


class ClientError(Exception):
    """A request that did not succeed; ``message`` is fit to print."""

    def __init__(self, message: str, code: str = "error") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class AuthRefused(ClientError):
    """The key is missing, unknown, or lacks the admin role (HTTP 401/403, close 4001/4003)."""


# What a terminal user can change: the server's hints name HTTP headers, which they never set.
_SET_THE_KEY = "set VS_API_KEY (or --api-key-file FILE) to"


def key_refused(endpoint: Endpoint, reason: str) -> AuthRefused:
    """A 401 or close 4001, said for a terminal: which key, and what to set."""
    return AuthRefused(f"vsmanager at {endpoint.url} refused {endpoint.key_source} ({reason}): "
                       f"{_SET_THE_KEY} a key it holds", "unauthorized")


def needs_admin(endpoint: Endpoint, what: str = "this command") -> AuthRefused:
    """A 403 or close 4003: the key is a monitor key."""
    return AuthRefused(f"{what} needs the admin key, and {endpoint.key_source} is a monitor "
                       f"key: {_SET_THE_KEY} the admin key", "forbidden")


class Unreachable(ClientError):
    """vsmanager could not be reached (refused, timed out, connection lost)."""


class Refused(ClientError):
    """vsmanager refused the action in its present state (HTTP 409/503), or for now (429)."""


class Backoff:
    """Delays between reconnection attempts: doubling from ``first`` up to ``cap``, with
    jitter so that many clients cut at once do not come back in step."""

    def __init__(self, first: float = 0.25, cap: float = 8.0) -> None:
        self.first = first
        self.cap = cap
        self.failures = 0

    def next_delay(self) -> float:
        delay = min(self.cap, self.first * 2**self.failures)
        self.failures += 1
        return float(delay * random.uniform(0.8, 1.0))

    def reset(self) -> None:
        self.failures = 0


class ApiClient:
    """Async HTTP client for one vsmanager; use as ``async with ApiClient(endpoint)``."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        retries: int | None = 3,
        timeout: float = 10.0,
        on_retry: Callable[[Unreachable, float], None] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.retries = retries
        self.on_retry = on_retry
        self._http = httpx.AsyncClient(
            base_url=endpoint.api,
            # A bearer token, which proxies mask in their logs by default (X-API-Key they log).
            headers={"Authorization": f"Bearer {endpoint.key}", "User-Agent": f"vsmanager/{__version__}"},
            timeout=timeout,
        )

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    async def status(self) -> dict[str, Any]:
        return await self._request("GET", "/server/status")

    async def lifecycle(self, action: str, wait: float = 0.0) -> dict[str, Any]:
        params = {"wait": min(wait, MAX_SERVER_WAIT_S)} if wait > 0 else None
        timeout = httpx.Timeout(10.0, read=min(wait, MAX_SERVER_WAIT_S) + 10.0)
        return await self._request("POST", f"/server/{action}", params=params, timeout=timeout)

    async def history(self, *, lines: int | None = None, after: int | None = None,
                      limit: int = HISTORY_PAGE_LINES, run: int | None = None) -> dict[str, Any]:
        params = {"after": after, "limit": limit} if after is not None else {"lines": lines}
        if run is not None:
            params["run"] = run
        return await self._request("GET", "/console/history", params=params)

    async def runs(self) -> dict[str, Any]:
        """The runs whose lines vsmanager still holds, oldest first."""
        response = await retrying(
            lambda: self._send("GET", "/console/runs"), self.retries, Backoff(), self.on_retry
        )
        if response.status_code == 404:
            raise ClientError("this vsmanager keeps no runs (it is older than GET "
                              "/console/runs): update it to read a previous run", "no_runs")
        return check(response, self.endpoint)

    async def metrics(self, since: float | None = None) -> dict[str, Any] | None:
        """The resource samples after ``since``; None from a vsmanager without metrics."""
        params = {"since": since} if since is not None else None
        response = await retrying(
            lambda: self._send("GET", "/server/metrics", params=params), self.retries,
            Backoff(), self.on_retry,
        )
        if response.status_code == 404:
            return None
        return check(response, self.endpoint)

    async def ticket(self) -> str | None:
        """A single-use ticket that opens the console WebSocket, so that the key itself never
        travels in a URL; None from a vsmanager without tickets (older than the endpoint)."""
        response = await retrying(
            lambda: self._send("POST", "/auth/ticket"), self.retries, Backoff(), self.on_retry
        )
        if response.status_code in (404, 405):
            return None
        return str(check(response, self.endpoint)["ticket"])

    async def command(self, command: str) -> int:
        answer = await self._request("POST", "/console/command", json={"command": command})
        return int(answer["seq"])

    async def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> dict[str, Any]:
        """Any other endpoint (schedules, notifications, backups): its JSON answer, {} for a 204."""
        if body is not None:
            kwargs["json"] = body
        response = await retrying(
            lambda: self._send(method, path, **kwargs), self.retries, Backoff(), self.on_retry
        )
        return {} if response.status_code == 204 else check(response, self.endpoint)

    def stream(self, path: str) -> Any:
        """``async with client.stream(path) as response``: a download, read as it comes."""
        return self._http.stream("GET", path, timeout=httpx.Timeout(10.0, read=60.0))

    async def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = await retrying(
            lambda: self._send(method, path, **kwargs), self.retries, Backoff(), self.on_retry
        )
        return check(response, self.endpoint)

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise Unreachable(describe_transport_error(self.endpoint.url, exc)) from None


async def retrying(
    attempt: Callable[[], Awaitable[T]],
    retries: int | None,
    backoff: Backoff,
    on_retry: Callable[[Unreachable, float], None] | None = None,
) -> T:
    """Call ``attempt`` until it does not raise Unreachable, at most ``retries`` more times
    (None: without end)."""
    while True:
        try:
            return await attempt()
        except Unreachable as exc:
            if retries is not None and backoff.failures >= retries:
                raise
            delay = backoff.next_delay()
            if on_retry is not None:
                on_retry(exc, delay)
            await asyncio.sleep(delay)


def check(response: httpx.Response, endpoint: Endpoint) -> dict[str, Any]:
    """The JSON body of a success, or the ClientError the failure means."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.is_success and isinstance(body, dict):
        return body
    code = str(body.get("code", "error")) if isinstance(body, dict) else "error"
    message = str(body.get("message", "")) if isinstance(body, dict) else ""
    message = message or f"HTTP {response.status_code} from {response.request.url.path}"
    if response.status_code == 401:
        # The server's message is "REASON: a hint about headers"; the reason is what counts.
        raise key_refused(endpoint, message.split(": ", 1)[0] if code == "unauthorized"
                          else message)
    if response.status_code == 403:
        raise needs_admin(endpoint, _needing_admin(response.request.url.path))
    if response.status_code in (409, 503) and code != "unavailable":
        raise Refused(message, code)
    if response.status_code == 429:
        wait = response.headers.get("retry-after")
        raise Refused(f"{message}; retry in {wait} s" if wait else message, code)
    if response.is_success:
        raise ClientError(f"unexpected answer from {response.request.url.path}", "bad_answer")
    raise ClientError(f"{message} (HTTP {response.status_code})", code)


def _needing_admin(path: str) -> str:
    """What the refused request was for, as the user asked for it."""
    if "/console/" in path:
        return "the console"
    if path.rstrip("/").rsplit("/", 1)[-1] in ("start", "stop", "restart"):
        return "starting and stopping the server"
    return "this command"


def describe_transport_error(url: str, exc: Exception) -> str:
    reason = str(exc) or type(exc).__name__
    return f"cannot reach vsmanager at {url}: {reason}"
