"""The console: a ring buffer of numbered lines. Pure: no I/O, no asyncio."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, cast

Stream = Literal["stdout", "stderr", "command", "system"]
STREAMS: tuple[Stream, ...] = ("stdout", "stderr", "command", "system")

# The largest seq a client may name: past any real console, and exact in JavaScript numbers.
MAX_SEQ = 2**53 - 1

# What a line costs beyond its text, for the byte bound: the object, its timestamp string,
# its seq and the slot (192 bytes measured with tracemalloc on CPython 3.11), rounded up.
LINE_OVERHEAD_BYTES = 200

# A JSON string literal, exactly as json.dumps(ensure_ascii=False) writes it (the C function
# json's encoder uses itself): a line's object is put together without the encoder's Python
# layers, which cost more than the rest of a line's way in.
_quote = json.encoder.encode_basestring


@dataclass(slots=True)
class ConsoleLine:
    seq: int
    ts: str
    stream: Stream
    text: str
    by: str | None = None  # the name of the key that made it (commands, lifecycle lines)
    _json: str | None = field(default=None, repr=False, compare=False)
    # The bytes its buffer counts for it (0 once evicted): see ConsoleBuffer.
    charged: int = field(default=0, repr=False, compare=False)

    @property
    def json(self) -> str:
        """The line as a JSON object, encoded once however many clients receive it."""
        if self._json is None:
            # The keys and separators of json.dumps(self.as_dict(), ensure_ascii=False,
            # separators=(",", ":")), which the tests hold it to.
            by = "" if self.by is None else ',"by":' + _quote(self.by)
            self._json = (f'{{"seq":{self.seq},"ts":{_quote(self.ts)},"stream":{_quote(self.stream)}'
                          f',"text":{_quote(self.text)}{by}}}')
        return self._json

    @property
    def cost(self) -> int:
        """The memory the line holds: its text as CPython stores it (1, 2 or 4 bytes a
        character, by the widest one), its JSON once encoded, and the rest of the line."""
        encoded = sys.getsizeof(self._json) if self._json is not None else 0
        return sys.getsizeof(self.text) + encoded + LINE_OVERHEAD_BYTES

    def as_dict(self) -> dict[str, object]:
        line: dict[str, object] = {"seq": self.seq, "ts": self.ts, "stream": self.stream,
                                   "text": self.text}
        if self.by is not None:
            line["by"] = self.by
        return line

    def as_text(self) -> str:
        """The line as the text format and the CLI show it: commands marked ``[CMD]``."""
        return f"[CMD] {self.text}" if self.stream == "command" else self.text


@dataclass(frozen=True, slots=True)
class Gap:
    """Lines a reader can no longer get: ``from_seq`` to ``to_seq``, both inclusive."""

    from_seq: int
    to_seq: int

    @property
    def count(self) -> int:
        return self.to_seq - self.from_seq + 1


@dataclass(slots=True)  # not frozen: made for every read, and a frozen one is slower to make
class Slice:
    lines: list[ConsoleLine]
    gap: Gap | None


def utc_timestamp(now: float | None = None) -> str:
    """``now`` (seconds since the epoch; default: the current time) as ISO 8601 UTC with
    microseconds, e.g. ``2026-11-26T03:04:05.123456Z``."""
    if now is None:
        second, micro = divmod(time.time_ns() // 1000, 1_000_000)
    else:
        second = int(now)
        micro = int((now - second) * 1_000_000)
    global _prefix_second, _prefix
    if second != _prefix_second:
        # One formatting a second, not one a line: at a thousand lines a second it shows.
        _prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        _prefix_second = second
    return f"{_prefix}.{micro:06d}Z"


_prefix_second = -1
_prefix = ""


class ConsoleBuffer:
    """The newest lines, bounded by count and by bytes; ``seq`` numbers every line ever added.

    Lines live in a fixed array used as a ring, so a read from any seq is an index
    computation plus a slice: it costs what it returns. The byte bound counts the memory the
    lines hold (``ConsoleLine.cost``), their JSON included once :meth:`encode` made it.
    """

    def __init__(self, max_lines: int, max_bytes: int) -> None:
        if max_lines < 1 or max_bytes < 1:
            raise ValueError("a console buffer needs room for at least one line")
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self._slots: list[ConsoleLine | None] = [None] * max_lines
        self._head = 0  # slot of the oldest line
        self._count = 0
        self._bytes = 0
        self._next_seq = 1

    def __len__(self) -> int:
        return self._count

    @property
    def bytes_used(self) -> int:
        return self._bytes

    @property
    def last_seq(self) -> int:
        """Seq of the newest line ever added (0 before the first)."""
        return self._next_seq - 1

    @property
    def first_seq(self) -> int:
        """Seq of the oldest line still held (``last_seq + 1`` when empty)."""
        return self._next_seq - self._count

    def append(
        self, stream: Stream, text: str, ts: str | None = None, by: str | None = None
    ) -> ConsoleLine:
        # A new line has no JSON yet: its cost (ConsoleLine.cost) is its text and the rest.
        cost = sys.getsizeof(text) + LINE_OVERHEAD_BYTES
        line = ConsoleLine(self._next_seq, ts or utc_timestamp(), stream, text, by, None, cost)
        self._next_seq += 1
        while self._count and (
            self._count == self.max_lines or self._bytes + cost > self.max_bytes
        ):
            self._evict_oldest()
        self._slots[(self._head + self._count) % self.max_lines] = line
        self._count += 1
        self._bytes += cost
        return line

    def encode(self, lines: list[ConsoleLine]) -> str:
        """The lines' JSON objects joined by commas. Each line is encoded once, and its
        JSON counts against the byte bound from then on (older lines make room for it)."""
        added = 0
        for line in lines:
            if line._json is None and line.charged:
                size = sys.getsizeof(line.json)
                line.charged += size
                added += size
        if added:
            self._bytes += added
            while self._count > 1 and self._bytes > self.max_bytes:
                self._evict_oldest()
        return ",".join(line.json for line in lines)

    def read_after(self, seq: int, limit: int, max_text: int | None = None) -> Slice:
        """Up to ``limit`` lines with seq > ``seq``, oldest first, and the gap before them.

        With ``max_text``, stop before the text would pass that many characters (but always
        return at least one line), so that one read makes a frame of bounded size.
        """
        # Every client reads here once a turn: plain arithmetic on the fields.
        count = self._count
        first = self._next_seq - count
        gap = None
        seq = max(seq, 0)  # no line has a seq below 1, so none before it can have been missed
        if seq + 1 < first:
            gap = Gap(seq + 1, first - 1)
            seq = first - 1
        start = seq + 1 - first
        lines = self._list(start, min(count, start + max(limit, 0)))
        if max_text is not None and len(lines) > 1:
            lines = _within(lines, max_text)
        return Slice(lines, gap)

    def tail(self, n: int) -> list[ConsoleLine]:
        """The newest ``n`` lines, oldest first."""
        n = max(0, min(n, self._count))
        return self._list(self._count - n, self._count)

    def _list(self, start: int, stop: int) -> list[ConsoleLine]:
        """The lines from the ``start``-th oldest to before the ``stop``-th (every slot of
        the ring between head and head + count holds a line)."""
        if start >= stop:
            return []
        size = self.max_lines
        begin = (self._head + start) % size
        end = begin + (stop - start)
        if end <= size:
            chunk = self._slots[begin:end]
        else:
            chunk = self._slots[begin:] + self._slots[: end - size]
        return cast(list[ConsoleLine], chunk)

    def _evict_oldest(self) -> None:
        line = self._slots[self._head]
        assert line is not None
        self._slots[self._head] = None
        self._head = (self._head + 1) % self.max_lines
        self._count -= 1
        self._bytes -= line.charged
        line.charged = 0


def _within(lines: list[ConsoleLine], max_text: int) -> list[ConsoleLine]:
    total = 0
    for index, line in enumerate(lines):
        total += len(line.text)
        if total > max_text and index > 0:
            return lines[:index]
    return lines
