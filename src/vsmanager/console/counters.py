"""Plain counters on the console's hot path, read by the Prometheus collector at scrape time.

Lines are read and frames sent thousands of times a second, with a budget of tens of
microseconds each: a prometheus-client ``Counter.inc()`` takes a lock per call, so the hot
path adds to ints and dicts here instead, and ``vsmanager.ops.prometheus`` turns them into
metric families only when scraped. Pure: imports nothing else of vsmanager.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict

# Buckets of the frame send latency, in seconds: a healthy local send takes microseconds; a
# client that cannot keep up waits until the send timeout (10 s by default).
SEND_LATENCY_BUCKETS: tuple[float, ...] = (
    0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0,
)

# The close codes a console socket can end with, each its own series from the start (at 0),
# so that increase() sees the first of each. A client may close with any code it likes: the
# rest are counted as "other", so no client can create series at will.
NO_STATUS = 1005  # the client's close frame carried no code
CLOSE_CODE_LABELS: tuple[str, ...] = (
    "1000",  # normal: the client is done
    "1001",  # going away: a page closed or navigated away
    "1002",  # protocol error
    "1006",  # the connection dropped without a close frame
    "1007",  # invalid UTF-8 in a text frame
    "1009",  # a frame over VS_WS_MAX_MESSAGE_BYTES
    "1011",  # a failure (vsmanager's, or the client's own)
    "1012",  # vsmanager is shutting down
    "4001",  # the key was revoked
    "4008",  # too slow to keep up
    "no_status",
    "other",
)


def close_code_label(code: int | None) -> str:
    """The label a close code is counted under: one of CLOSE_CODE_LABELS."""
    if code is None:
        return "1006"  # the socket broke before any close code was learnt
    if code == NO_STATUS:
        return "no_status"
    label = str(code)
    return label if label in CLOSE_CODE_LABELS else "other"


class LatencyHistogram:
    """Counts per bucket (each observation in the first bucket at least as large), a sum."""

    __slots__ = ("bounds", "counts", "first", "sum")

    def __init__(self, bounds: tuple[float, ...] = SEND_LATENCY_BUCKETS) -> None:
        self.bounds = bounds
        self.first = bounds[0]
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.sum += seconds

    def cumulative(self, more_in_first: int = 0) -> list[tuple[str, int]]:
        """(le, count) pairs as Prometheus wants them: cumulative, ending with +Inf; with
        ``more_in_first`` observations of 0 seconds that were counted elsewhere."""
        total = more_in_first
        out = []
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            total += count
            out.append(("+Inf" if bound == float("inf") else repr(bound), total))
        return out


class ConsoleCounters:
    """What went through the console since vsmanager started; every field only grows."""

    __slots__ = (
        "auth_failures",
        "bytes_read",
        "clients_closed",
        "commands",
        "frames_at_once",
        "frames_timed",
        "gaps_sent",
        "lines_dropped",
        "lines_read",
        "send_latency",
    )

    def __init__(self) -> None:
        # Per stream: stdout and stderr are read from the game; command and system lines
        # are vsmanager's own.
        self.lines_read: defaultdict[str, int] = defaultdict(int)
        # UTF-8 bytes of those lines (line ends and invalid bytes repaired, not counted).
        self.bytes_read: defaultdict[str, int] = defaultdict(int)
        self.gaps_sent = 0
        self.lines_dropped = 0  # lines clients skipped in those gaps
        # Frames sent, in two counts. Those the broadcast wrote the moment they were owed are
        # counted by a bare ``+=`` on the hot path (stream/broadcast.py: once a write to each
        # of a crowd, each tick); they waited for nothing, so they join the send histogram's
        # first bucket only when it is read. Those a client's own loop sent are timed.
        self.frames_at_once = 0
        self.frames_timed = 0
        self.send_latency = LatencyHistogram()  # of the timed frames
        self.clients_closed: defaultdict[str, int] = defaultdict(int)  # by close_code_label
        self.commands: defaultdict[str, int] = defaultdict(int)  # by key name
        self.auth_failures: defaultdict[str, int] = defaultdict(int)  # by transport

    def line_read(self, stream: str, text: str) -> None:
        self.lines_read[stream] += 1
        # isascii() is one quick scan; encoding only for the lines that need it.
        self.bytes_read[stream] += len(text) if text.isascii() else len(text.encode())

    @property
    def frames_sent(self) -> int:
        return self.frames_at_once + self.frames_timed

    def send_latency_buckets(self) -> list[tuple[str, int]]:
        """The send histogram's cumulative buckets, the frames written at once included."""
        return self.send_latency.cumulative(self.frames_at_once)

    def frames_written(self, count: int, seconds: float) -> None:
        """``count`` frames went out in one write, after waiting ``seconds`` for the socket
        to take more (0 when it could at once): one call per write, not per frame."""
        self.frames_timed += count
        latency = self.send_latency
        latency.sum += seconds * count
        if seconds <= latency.first:
            latency.counts[0] += count
        else:
            latency.counts[bisect_left(latency.bounds, seconds)] += count

    def gap_sent(self, count: int) -> None:
        self.gaps_sent += 1
        self.lines_dropped += count

    def client_closed(self, code: int | None) -> None:
        self.clients_closed[close_code_label(code)] += 1

    # Hooks for the parts that know who did what: the supervisor (commands, by key name)
    # and the key check in routes/deps.py.

    def command_sent(self, key_name: str | None) -> None:
        """A console command went to the game; ``key_name`` is the key's name (None, when
        no key sent it, counts as "unnamed")."""
        self.commands[key_name or "unnamed"] += 1

    def auth_failed(self, transport: str) -> None:
        """A request or socket was refused for a missing or wrong key or ticket
        (``transport``: "http" or "websocket")."""
        self.auth_failures[transport] += 1
