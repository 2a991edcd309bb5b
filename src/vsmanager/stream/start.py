"""Where a console client starts: its cursor, an error frame to send first, and how much of
what follows is history. Fixed when its handshake is answered (routes/console.py), before the
client can see its connection open.
"""

from __future__ import annotations

from typing import NamedTuple

from vsmanager.console.feed import ConsoleFeed
from vsmanager.stream.options import StreamOptions


class Start(NamedTuple):
    """Where a client starts, fixed when its handshake is answered."""

    cursor: int
    notice: tuple[str, str] | None  # an error frame (code, message) to send first
    # Lines up to here are history, sent as far as the buffer still holds them when sending
    # begins; a line after it was written once the client could see its connection open, so
    # it is owed, and its loss is a gap.
    history_end: int

    def cursor_when_sending(self, first_seq: int) -> int:
        """The cursor once sending begins (the buffer's oldest line then ``first_seq``):
        history evicted meanwhile is skipped without a gap, lines after it are owed."""
        return max(self.cursor, min(first_seq - 1, self.history_end))


def start_cursor(feed: ConsoleFeed, options: StreamOptions) -> Start:
    """Where a client's cursor starts, and the error frame to send first, if any.

    Taken before the handshake's answer goes out: a line that comes after the client sees
    its connection open is one it must get, even with ``history_lines=0``.
    """
    buffer = feed.buffer
    after, console_id = options.after, options.console_id
    fresh = max(buffer.first_seq - 1, buffer.last_seq - options.history_lines)
    if console_id is not None and console_id != feed.console_id:
        # Its seqs number another vsmanager's lines: none of ours follows them.
        return Start(fresh, ("console_restarted", (
            f"vsmanager has restarted since console {console_id}: this is console "
            f"{feed.console_id}, numbered afresh; its lines follow as for a new client"
        )), buffer.last_seq)
    if after is None:
        return Start(fresh, None, buffer.last_seq)
    if after > buffer.last_seq:
        # A seq from before vsmanager restarted: this console's numbering began again.
        notice = (
            f"after={after} is newer than the newest line ({buffer.last_seq}); "
            "vsmanager has restarted since, sending everything it holds"
        )
        return Start(buffer.first_seq - 1, ("after_out_of_range", notice), buffer.last_seq)
    return Start(after, None, after)
