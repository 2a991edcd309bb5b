"""The access log's bounds: a budget of lines per client address and minute, the page's polls
and refused keys at debug level, and (in :mod:`vsmanager.ops.logs`) long paths cut.

Without them every request from anyone writes a line: one connection sending 15 KB paths
wrote 4.9 MB of log a second, and the page's polls fill the log of a quiet server. A client
address gets ``VS_LOG_REQUESTS_PER_CLIENT`` lines a minute; what it sends beyond that is
counted, and one ``http_requests_suppressed`` line with ``client`` and ``suppressed`` says how
many once its minute is over (written with the next request line from anyone, since
logging has no clock of its own).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import structlog

log = structlog.get_logger("vsmanager.access")

WINDOW_S = 60.0
# Client addresses tracked at once; a flood from a whole IPv6 network evicts the oldest
# (whose count is reported at once).
MAX_CLIENTS = 10_000
# What uvicorn and the websockets library say of every WebSocket, at info level: the
# handshake, the connection opening, closing, or refused. console_ws_connected,
# console_ws_disconnected and console_ws_refused (or auth_failed) say more, once.
_WS_CHATTER = frozenset({'%s - "WebSocket %s" [accepted]', "connection open", "connection closed",
                         "connection rejected (%d %s)"})
_UNAUTHORIZED = 401


@dataclass
class _Window:
    start: float
    written: int = 0
    suppressed: int = 0


class RequestLogBudget:
    """At most ``per_window`` lines per client per window. Pure: fed a clock, no I/O."""

    def __init__(self, per_window: int, window_s: float = WINDOW_S, max_clients: int = MAX_CLIENTS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_window = per_window
        self.window_s = window_s
        self.max_clients = max_clients
        self.clock = clock
        self._windows: dict[str, _Window] = {}
        self._order: deque[tuple[float, str]] = deque()  # windows by start, oldest first

    def admit(self, client: str) -> tuple[bool, list[tuple[str, int]]]:
        """Whether ``client``'s line is written now, and the (client, suppressed) counts of
        windows that have ended with lines held back."""
        now = self.clock()
        ended = self._expire(now)
        window = self._windows.get(client)
        if window is None:
            if len(self._windows) >= self.max_clients:
                ended += self._evict_oldest()
            window = self._windows[client] = _Window(now)
            self._order.append((now, client))
        if window.written < self.per_window:
            window.written += 1
            return True, ended
        window.suppressed += 1
        return False, ended

    def _expire(self, now: float) -> list[tuple[str, int]]:
        ended = []
        while self._order and self._order[0][0] + self.window_s <= now:
            ended += self._evict_oldest()
        return ended

    def _evict_oldest(self) -> list[tuple[str, int]]:
        start, client = self._order.popleft()
        window = self._windows.get(client)
        if window is None or window.start != start:
            return []
        del self._windows[client]
        return [(client, window.suppressed)] if window.suppressed else []


def client_host(client: str) -> str:
    """``host:port`` as uvicorn writes it → ``host`` (IPv6 unbracketed, as uvicorn has it)."""
    host, sep, port = client.rpartition(":")
    return host if sep and port.isdigit() else client or "unknown"


class AccessLogFilter(logging.Filter):
    """On the log handler: demotes the page's polls, refused keys (their ``auth_failed`` line
    says it) and the WebSocket chatter of uvicorn and websockets to debug, and holds each
    client address to its budget."""

    def __init__(self, budget: RequestLogBudget, quiet_paths: Iterable[str]) -> None:
        super().__init__()
        self.budget = budget
        self.quiet_paths = frozenset(quiet_paths)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.error" and record.msg in _WS_CHATTER:
            return self._demote(record)
        if record.name != "uvicorn.access" or not isinstance(record.args, tuple) or len(record.args) != 5:
            return True
        client, method, path, _, status = record.args
        if self._is_quiet(str(method), str(path), status) and not self._demote(record):
            return False
        written, ended = self.budget.admit(client_host(str(client)))
        for address, suppressed in ended:
            log.info("http_requests_suppressed", client=address, suppressed=suppressed,
                     window_s=self.budget.window_s)
        return written

    def _is_quiet(self, method: str, path: str, status: object) -> bool:
        if status == _UNAUTHORIZED:
            return True
        if method != "GET" or not isinstance(status, int) or status >= 400:
            return False
        return path.split("?", 1)[0] in self.quiet_paths

    @staticmethod
    def _demote(record: logging.LogRecord) -> bool:
        """Make ``record`` a debug one; False when debug lines are not logged."""
        if not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True
