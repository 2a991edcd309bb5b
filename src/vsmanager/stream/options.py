"""The console socket's query (format, history_lines, after, console_id,
frames_per_second), checked. Pure: a
bad value raises :class:`BadQuery`, whose message is the close reason."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from vsmanager.config.settings import Settings
from vsmanager.console.buffer import MAX_SEQ

Format = Literal["text", "json"]

MAX_CONSOLE_ID_CHARS = 64
# A client may ask for fewer frames (writes, in text) than it would get; more than this
# would not be fewer.
MAX_FRAMES_PER_SECOND = 1000


class BadQuery(ValueError):
    """A query value the console socket cannot use; the message is the close reason."""


@dataclass(frozen=True, slots=True)
class StreamOptions:
    format: Format
    history_lines: int
    after: int | None
    console_id: str | None = None  # the numbering ``after`` comes from
    # At most this many writes a second to this client while the console is busy (a page
    # asks for one per animation frame); None: as the frame budget allows.
    frames_per_second: int | None = None


def parse_options(query: Mapping[str, str], settings: Settings) -> StreamOptions:
    fmt = query.get("format", "text")
    if fmt not in ("text", "json"):
        raise BadQuery("format must be text or json")
    history = _non_negative_int(query, "history_lines", settings.console_history_lines)
    after = _non_negative_int(query, "after", None)
    console_id = query.get("console_id")
    if console_id is not None and not (
        0 < len(console_id) <= MAX_CONSOLE_ID_CHARS and console_id.isascii() and console_id.isalnum()
    ):
        raise BadQuery(
            f"console_id must be the console_id of a status frame (1-{MAX_CONSOLE_ID_CHARS} "
            "letters and digits)"
        )
    fps = _non_negative_int(query, "frames_per_second", None)
    if fps is not None and not 1 <= fps <= MAX_FRAMES_PER_SECOND:
        raise BadQuery(f"frames_per_second must be a whole number from 1 to {MAX_FRAMES_PER_SECOND}")
    return StreamOptions(fmt, history, after, console_id, fps)  # type: ignore[arg-type]


def _non_negative_int(query: Mapping[str, str], name: str, default: int | None) -> int | None:
    raw = query.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 16 or int(raw) > MAX_SEQ:
        raise BadQuery(f"{name} must be a whole number from 0 to {MAX_SEQ}")
    return int(raw)
