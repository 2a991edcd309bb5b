"""WebSocket frames built once, as bytes, and shared by every client that needs them.

A server's text frame is a pure function of its payload (RFC 6455 §5.2: no mask, no
extension without permessage-deflate), so a line or a batch several clients need next is
encoded once and the same bytes are written to each of them, as ``websockets.broadcast``
does. No I/O: the session writes the bytes.
"""

from __future__ import annotations

import struct
import weakref
from collections.abc import Callable
from typing import Any

from vsmanager.console.buffer import Gap
from vsmanager.console.feed import ConsoleFeed

_FIN_TEXT = 0x81  # FIN set, opcode 1 (text)


def text_frame(payload: str) -> bytes:
    """The bytes of one unmasked, unfragmented server text frame carrying ``payload``."""
    data = payload.encode()
    size = len(data)
    if size < 126:
        return bytes((_FIN_TEXT, size)) + data
    if size < 65536:
        return struct.pack("!BBH", _FIN_TEXT, 126, size) + data
    return struct.pack("!BBQ", _FIN_TEXT, 127, size) + data


class SharedFrames:
    """What clients in step write next, built by the first of them and reused by the rest.

    Entries are valid while the buffer's newest seq stays the same: a new line drops them
    all, so the cache holds one turn's worth of batches (a few per format and cursor).
    """

    __slots__ = ("_entries", "_seq")

    def __init__(self) -> None:
        self._seq = -1
        self._entries: dict[tuple[Any, ...], Any] = {}

    def peek(self, newest_seq: int, key: tuple[Any, ...]) -> Any:
        """The entry for ``key`` while ``newest_seq`` is the newest line, or None (then
        :meth:`put` it): :meth:`get` without a function to build it."""
        if newest_seq != self._seq:
            self._entries.clear()
            self._seq = newest_seq
        return self._entries.get(key)

    def put(self, key: tuple[Any, ...], entry: Any) -> Any:
        self._entries[key] = entry
        return entry

    def get(self, newest_seq: int, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        if newest_seq != self._seq:
            self._entries.clear()
            self._seq = newest_seq
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = build()
        return entry


_SHARED: weakref.WeakKeyDictionary[ConsoleFeed, SharedFrames] = weakref.WeakKeyDictionary()


def shared_frames(feed: ConsoleFeed) -> SharedFrames:
    """The frames shared by the clients of one feed."""
    shared = _SHARED.get(feed)
    if shared is None:
        shared = _SHARED[feed] = SharedFrames()
    return shared


def json_frames(feed: ConsoleFeed, cursor: int, limit: int,
                max_text: int) -> tuple[Gap | None, bytes, int, int]:
    """What a JSON client at ``cursor`` writes next: the gap it missed, if any, one
    ``lines`` frame, how many lines it carries, and the cursor after them."""
    batch = feed.json_batch(cursor, limit, max_text)
    return batch.gap, text_frame(batch.frame) if batch.count else b"", batch.count, batch.end


def text_frames(feed: ConsoleFeed, cursor: int, limit: int,
                max_text: int) -> tuple[Gap | None, bytes, int, int]:
    """What a text client at ``cursor`` writes next: the gap it missed, if any, a frame per
    line (``[CMD]`` marking commands) joined in one write, how many, and the cursor after
    them."""
    batch = feed.buffer.read_after(cursor, limit, max_text)
    lines = batch.lines
    if not lines:
        return batch.gap, b"", 0, batch.gap.to_seq if batch.gap else cursor
    return (batch.gap, b"".join([text_frame(line.as_text()) for line in lines]), len(lines),
            lines[-1].seq)
