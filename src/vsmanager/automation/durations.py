"""Durations as people write them (``"90s"``, ``"15m"``, ``"1h30m"``, ``"2d"``) and as players
read them (``"5 minutes"``, ``"1 hour 30 minutes"``). Pure."""

from __future__ import annotations

import re

_UNITS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_PART = re.compile(r"(\d{1,6})([dhms])")
_WHOLE = re.compile(r"(?:\d{1,6}[dhms])+")
# A year: no schedule waits longer, and no warning comes earlier.
MAX_DURATION_S = 366 * 86_400
_NAMES = (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1))


class DurationError(ValueError):
    """Text that is no duration; the message says what one looks like."""


def parse_duration(text: object) -> int:
    """``"1h30m"`` → 5400 seconds. Units d, h, m, s, largest first, each at most once; the
    total is more than 0 and at most a year."""
    if not isinstance(text, str):
        raise DurationError('must be a duration in quotes, such as "90s", "15m" or "1h30m"')
    compact = text.strip().lower()
    if not _WHOLE.fullmatch(compact):
        raise DurationError(f'{text[:40]!r} is not a duration; write "90s", "15m", "1h" or "1h30m"')
    units = [unit for _, unit in _PART.findall(compact)]
    if units != sorted(units, key=list(_UNITS).index) or len(set(units)) != len(units):
        raise DurationError(f"{text!r}: give each unit once, largest first (d, h, m, s), like 1h30m")
    seconds = sum(int(number) * _UNITS[unit] for number, unit in _PART.findall(compact))
    if seconds <= 0:
        raise DurationError(f"{text!r} must be longer than 0 s")
    if seconds > MAX_DURATION_S:
        raise DurationError(f"{text!r} is longer than a year")
    return seconds


def format_duration(seconds: float) -> str:
    """The compact form again: 5400 → ``"1h30m"``."""
    remaining = max(0, round(seconds))
    parts = []
    for unit, size in _UNITS.items():
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def spoken_duration(seconds: float) -> str:
    """How a warning reads in the game: 300 → ``"5 minutes"``, 5400 → ``"1 hour 30 minutes"``,
    10 → ``"10 seconds"``. At most the two largest units; a rest smaller than those is dropped."""
    remaining = max(0, round(seconds))
    if remaining == 0:
        return "now"
    parts = []
    for name, size in _NAMES:
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count} {name}{'' if count == 1 else 's'}")
        if len(parts) == 2:
            break
        if parts and not count:
            break  # "1 hour 5 seconds" reads worse than "1 hour"
    return " ".join(parts)
