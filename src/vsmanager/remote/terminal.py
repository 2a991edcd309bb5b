"""Printing game output safely: escaping, colours, the line formats of the terminal client.

Pure: every function here returns strings; writing them is the caller's business.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

OutputFormat = Literal["text", "json"]

STREAMS = ("stdout", "stderr", "command", "system")

# SGR ("select graphic rendition": colours, bold, ...) is the one escape sequence a game line
# may keep: it can only paint text. Bounded so a line cannot smuggle a huge parameter list.
_SGR = r"\x1b\[[0-9;:]{0,32}m"
# C0 except tab, DEL, C1 (\x9b alone is a CSI in 8-bit terminals), and the bidirectional
# overrides that reorder what the admin sees ("Trojan Source").
_UNSAFE = r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
_SAFE_OR_UNSAFE = re.compile(f"({_SGR})|{_UNSAFE}")
_UNSAFE_ONLY = re.compile(_UNSAFE)
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

RESET = "\x1b[0m"
_STREAM_STYLE = {"stderr": "\x1b[31m", "command": "\x1b[1;36m", "system": "\x1b[33m"}
_DIM = "\x1b[2m"


def _escape_char(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_text(text: str, *, keep_colours: bool = True) -> str:
    """Make a game line harmless to print: every control character becomes visible
    (``\\x1b``, ``\\x07``, ``\\u202e``) except tabs and, if ``keep_colours``, SGR colours."""
    if keep_colours:
        return _SAFE_OR_UNSAFE.sub(lambda m: m.group(1) or _escape_char(m.group()), text)
    return _UNSAFE_ONLY.sub(lambda m: _escape_char(m.group()), text)


def has_sgr(text: str) -> bool:
    return "\x1b[" in text


def json_line(line: Mapping[str, object]) -> str:
    """One console line as one line of JSON: exact values, and safe even when printed raw
    (``json`` escapes C0 itself; DEL, C1 and bidi overrides are escaped here)."""
    encoded = json.dumps(
        {k: line.get(k) for k in ("seq", "ts", "stream", "text")},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", encoded)


@dataclass
class LineRenderer:
    """Turns console lines (dicts with seq, ts, stream, text) into printable strings."""

    format: OutputFormat = "text"
    timestamps: bool = False
    raw: bool = False
    colour: bool = False
    streams: frozenset[str] = field(default_factory=lambda: frozenset(STREAMS))

    @property
    def shows_all(self) -> bool:
        return self.streams >= frozenset(STREAMS)

    def wants(self, line: Mapping[str, object]) -> bool:
        return line.get("stream") in self.streams

    def render(self, line: Mapping[str, object]) -> str:
        if self.format == "json":
            return json_line(line)
        stream = str(line.get("stream", "stdout"))
        text = str(line.get("text", ""))
        if stream == "command":
            text = f"[CMD] {text}"
        if not self.raw:
            text = escape_text(text)
            if self.colour and has_sgr(text):
                text += RESET  # a line's colours must not bleed into the next one
        if self.colour and stream in _STREAM_STYLE:
            text = f"{_STREAM_STYLE[stream]}{text}{RESET}"
        if self.timestamps:
            stamp = escape_text(str(line.get("ts", "")), keep_colours=False)
            text = f"{_DIM}{stamp}{RESET} {text}" if self.colour else f"{stamp} {text}"
        return text

    def render_all(self, lines: Iterable[Mapping[str, object]]) -> list[str]:
        return [self.render(line) for line in lines if self.wants(line)]


def parse_streams(value: str) -> frozenset[str]:
    """``stdout,stderr`` -> the set; raises ValueError naming the valid choices."""
    names = {part.strip() for part in value.split(",") if part.strip()}
    unknown = sorted(names - set(STREAMS))
    if unknown or not names:
        raise ValueError(
            f"unknown stream {', '.join(unknown) or '(none)'}; choose from {','.join(STREAMS)}"
        )
    return frozenset(names)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    if days or hours:
        parts.append(f"{hours}h")
    if days or hours or minutes:
        parts.append(f"{minutes}m")
    parts.append(f"{secs}s")
    return " ".join(parts)


def status_table(status: Mapping[str, object], url: str) -> str:
    """The human form of ``GET /server/status``."""
    def show(value: object) -> str:
        return "-" if value is None else escape_text(str(value), keep_colours=False)

    rows = [
        ("state", show(status.get("state"))),
        ("pid", show(status.get("pid"))),
        ("uptime", format_duration(_as_float(status.get("uptime_s")))),
        ("started at", show(status.get("started_at"))),
        ("exit code", show(status.get("exit_code"))),
        ("restarts", show(status.get("restarts"))),
        ("vsmanager", url),
    ]
    return "\n".join(f"{name:<11} {value}" for name, value in rows)


def _as_float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


class Spinner:
    """Frames of a one-line progress indicator, for stderr on a terminal."""

    FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

    def __init__(self) -> None:
        self._tick = 0

    def frame(self, message: str) -> str:
        self._tick += 1
        return f"\r{self.FRAMES[self._tick % len(self.FRAMES)]} {message}\x1b[K"

    @staticmethod
    def clear() -> str:
        return "\r\x1b[K"
