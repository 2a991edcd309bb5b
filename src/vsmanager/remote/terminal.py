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
# may keep, and only its colours: bold, dim, italic, underline, blink, inverse, conceal and
# strike-through are vsmanager's own marks (below), so game text must not produce them.
# Bounded so a line cannot smuggle a huge parameter list.
_SGR = r"\x1b\[([0-9;:]{0,32})m"
# C0 except tab, DEL, C1 (\x9b alone is a CSI in 8-bit terminals), the bidirectional marks,
# embeddings, overrides and isolates that reorder what the admin sees ("Trojan Source"), and
# the Unicode line and paragraph separators.
_UNSAFE_CHARS = (r"\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                 r"\u2066-\u2069\u2028\u2029")
_UNSAFE = f"[{_UNSAFE_CHARS}]"
_SAFE_OR_UNSAFE = re.compile(f"(?:{_SGR})|{_UNSAFE}")
_UNSAFE_ONLY = re.compile(_UNSAFE)
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")

# SGR parameters a game line keeps: foreground colours (the 8 and the bright 8), the
# defaults (39, 49), and reset (0). Backgrounds are dropped like inverse (as the page does):
# `\e[46;30m CMD \e[0m` would otherwise look like vsmanager's own " CMD " label.
_COLOUR_PARAMS = frozenset({0, 39, 49, *range(30, 38), *range(90, 98)})
_EXTENDED_COLOUR = {"38", "48"}  # 38;5;N or 38;2;R;G;B, and 48 for the background
_KEPT_EXTENDED = "38"

RESET = "\x1b[0m"
# Marks that game text cannot produce, because it loses bold and inverse: a command echo
# and a system line each start with a label in inverse video, followed by bold text.
_MARK = {"command": ("\x1b[1;7;35m", " CMD ", "\x1b[1;35m"),  # magenta, as in the page
         "system": ("\x1b[1;7;33m", " vsmanager ", "\x1b[1;33m")}
# Without colours the labels are plain brackets, as the server's own text format writes them.
_PLAIN_MARK = {"command": "[CMD]", "system": "[vsmanager]"}
_STDERR_STYLE = "\x1b[31m"
_DIM = "\x1b[2m"
_BOLD = "\x1b[1m"


def _escape_char(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def colours_only(params: str) -> str | None:
    """The colour parameters of one SGR sequence (``1;31`` -> ``31``); None if none is left."""
    if params == "":
        return ""  # ESC [ m: a reset
    kept: list[str] = []
    parts = params.split(";")
    i = 0
    while i < len(parts):
        part = parts[i]
        i += 1
        if ":" in part:  # ITU form 38:2::R:G:B; 4:3 (curly underline) and the like are not
            if part.split(":", 1)[0] == _KEPT_EXTENDED:
                kept.append(part)
            continue
        if part in _EXTENDED_COLOUR:
            width = {"5": 2, "2": 4}.get(parts[i] if i < len(parts) else "", 0)
            colour = parts[i - 1:i + width]
            if width == 0 or len(colour) < width + 1 or not all(p.isdigit() for p in colour):
                break  # malformed: what follows cannot be told apart from attributes
            if part == _KEPT_EXTENDED:
                kept.extend(colour)
            i += width
            continue
        if part == "" or (part.isdigit() and int(part) in _COLOUR_PARAMS):
            kept.append(part or "0")
    return ";".join(kept) if kept else None


def _keep_colour(match: re.Match[str]) -> str:
    params = match.group(1)
    if params is None:
        return _escape_char(match.group())
    colours = colours_only(params)
    return "" if colours is None else f"\x1b[{colours}m"


def escape_text(text: str, *, keep_colours: bool = True) -> str:
    """Make a game line harmless to print: every control character becomes visible
    (``\\x1b``, ``\\x07``, ``\\u202e``) except tabs and, if ``keep_colours``, SGR foreground
    colours (other SGR attributes, such as bold, inverse or a background, are dropped: they
    make vsmanager's marks)."""
    if keep_colours:
        return _SAFE_OR_UNSAFE.sub(_keep_colour, text)
    return _UNSAFE_ONLY.sub(lambda m: _escape_char(m.group()), text)


def has_sgr(text: str) -> bool:
    return "\x1b[" in text


def notice(message: str, *, colour: bool = False) -> str:
    """A line of vsmanager's own on stderr; on a terminal its name is bold, which game
    output printed beside it on stdout cannot be."""
    prefix = f"{_BOLD}vsmanager:{RESET}" if colour else "vsmanager:"
    return f"{prefix} {escape_text(message, keep_colours=False)}"


def json_line(line: Mapping[str, object]) -> str:
    """One console line as one line of JSON: exact values, and safe even when printed raw
    (``json`` escapes C0 itself; DEL, C1 and bidi overrides are escaped here)."""
    fields = {k: line.get(k) for k in ("seq", "ts", "stream", "text")}
    if line.get("by") is not None:
        fields["by"] = line["by"]
    encoded = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
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
        if stream == "command" and line.get("by") is not None:
            text = f"{line['by']} ran {text}"
        if stream in _MARK:
            text = self._marked(stream, text)
        elif not self.raw:
            text = escape_text(text)
            if self.colour and has_sgr(text):
                text += RESET  # a line's colours must not bleed into the next one
            if self.colour and stream == "stderr":
                text = f"{_STDERR_STYLE}{text}{RESET}"
        if self.timestamps:
            stamp = escape_text(str(line.get("ts", "")), keep_colours=False)
            text = f"{_DIM}{stamp}{RESET} {text}" if self.colour else f"{stamp} {text}"
        return text

    def _marked(self, stream: str, text: str) -> str:
        """A command echo or a system line: vsmanager's words, never painted by the game."""
        if not self.raw:
            text = escape_text(text, keep_colours=False)
        if not self.colour:
            return f"{_PLAIN_MARK[stream]} {text}"
        label_style, label, text_style = _MARK[stream]
        return f"{label_style}{label}{RESET} {text_style}{text}{RESET}"

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
