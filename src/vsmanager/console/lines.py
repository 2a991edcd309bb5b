"""Turn the bytes a child writes to a pipe into text lines. Pure: no I/O, no clock."""

from __future__ import annotations

_NEWLINE = 0x0A
_RETURN = 0x0D


class LineSplitter:
    """Incremental splitter for one stream.

    Lines end at ``\\n``, ``\\r\\n`` or a lone ``\\r``. Invalid UTF-8 becomes U+FFFD; a line
    longer than ``max_line_bytes`` is cut into pieces of at most that many bytes, so no line,
    however long, can stop capture. Whatever has no line end yet stays pending until more
    bytes arrive or the caller asks for it with :meth:`flush` (a prompt such as ``> ``).
    """

    def __init__(self, max_line_bytes: int) -> None:
        if max_line_bytes < 4:
            raise ValueError("max_line_bytes must be at least 4 (one UTF-8 character)")
        self.max_line_bytes = max_line_bytes
        self._pending = bytearray()
        # A CR ends a line at once; remember it so that the LF of a CRLF that arrives in the
        # next chunk does not produce an empty line.
        self._after_return = False

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    def feed(self, data: bytes) -> list[str]:
        """Add a chunk; return the lines it completed, oldest first."""
        if not data:
            # Nothing arrived: a CR just before still awaits its possible LF.
            return []
        if self._after_return or b"\r" in data:
            return self._feed_each(data)
        if not self._pending and data.find(b"\n") == len(data) - 1 <= self.max_line_bytes:
            return [_decode(data[:-1])]  # the usual chunk of a quiet console: one whole line
        # The usual chunk: LF-ended lines. The whole lines between its first and last LF are
        # decoded in one call and split on "\n", the same lines as one at a time (no UTF-8
        # sequence contains a LF, so an invalid one is replaced the same way either side).
        lines: list[str] = []
        last = data.rfind(b"\n")
        if last < 0:
            self._append_pending(data, lines)
            return lines
        first = data.find(b"\n")
        self._append_pending(data[:first], lines)
        lines.append(self._take_pending())
        if last > first:
            middle = data[first + 1:last]
            limit = self.max_line_bytes
            if len(middle) > limit and max(map(len, middle.split(b"\n"))) > limit:
                return lines + self._feed_each(data[first + 1:])  # a long line to cut
            lines += _decode(middle).split("\n")
        if last + 1 < len(data):
            self._append_pending(data[last + 1:], lines)
        return lines

    def _feed_each(self, data: bytes) -> list[str]:
        lines: list[str] = []
        start = 0
        if self._after_return and data[:1] == b"\n":
            start = 1
        self._after_return = False
        size = len(data)
        while start < size:
            end = _find_line_end(data, start)
            if end < 0:
                self._append_pending(data[start:], lines)
                break
            self._append_pending(data[start:end], lines)
            lines.append(self._take_pending())
            if data[end] == _RETURN:
                if end + 1 < size:
                    start = end + 2 if data[end + 1] == _NEWLINE else end + 1
                else:
                    self._after_return = True
                    start = end + 1
            else:
                start = end + 1
        return lines

    def flush(self) -> list[str]:
        """Return the pending partial line, if any (after silence, or at end of stream)."""
        if not self._pending:
            return []
        return [self._take_pending()]

    def _append_pending(self, piece: bytes, lines: list[str]) -> None:
        self._pending += piece
        while len(self._pending) > self.max_line_bytes:
            cut = _utf8_boundary(self._pending, self.max_line_bytes)
            lines.append(_decode(bytes(self._pending[:cut])))
            del self._pending[:cut]

    def _take_pending(self) -> str:
        text = _decode(bytes(self._pending))
        self._pending.clear()
        return text


def _find_line_end(data: bytes, start: int) -> int:
    newline = data.find(b"\n", start)
    ret = data.find(b"\r", start, newline if newline >= 0 else len(data))
    return ret if ret >= 0 else newline


def _utf8_boundary(buf: bytearray, limit: int) -> int:
    """The largest cut <= limit that does not split a UTF-8 sequence (if the bytes are valid)."""
    cut = limit
    # Step back over at most three continuation bytes (0b10xxxxxx).
    for _ in range(3):
        if cut > 0 and (buf[cut] & 0xC0) == 0x80:
            cut -= 1
        else:
            break
    return cut if cut > 0 else limit


def _decode(raw: bytes) -> str:
    # bytes.decode, not codecs.decode: it goes straight to the UTF-8 decoder, where
    # codecs.decode looks the codec up in the registry and unpacks a tuple. The same in a
    # loop, but a line is decoded once per wake-up with cold caches, where that lookup costs
    # about 2 us a line (bench/line_path.py, docs/benchmarks.md).
    return raw.decode("utf-8", "replace")
