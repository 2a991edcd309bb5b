"""The vocabulary of a game profile's patterns: the facts a console line can tell, and the
named groups a pattern for each must have. Settings check custom patterns against it; the
game's profile (:mod:`vsmanager.game.profile`) is built from it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

Fact = Literal["version", "join", "leave", "list_header", "list_entry", "players", "overload"]
FACTS: tuple[Fact, ...] = ("version", "join", "leave", "list_header", "list_entry", "players", "overload")
ProfileName = Literal["vintagestory", "none"]

# The named groups a pattern for each fact must have (``channel``, ``max`` and ``ms`` are
# optional extras).
REQUIRED_GROUPS: Mapping[Fact, frozenset[str]] = {
    "version": frozenset({"version"}),
    "join": frozenset({"name"}),
    "leave": frozenset({"name"}),
    "list_header": frozenset(),
    "list_entry": frozenset({"name"}),
    "players": frozenset({"online"}),
    "overload": frozenset(),
}


class PatternError(ValueError):
    """A pattern that does not compile or lacks a named group its fact needs."""


def compile_pattern(fact: Fact, source: str) -> re.Pattern[str]:
    """Compile a pattern for ``fact``, checking it has the named groups the fact needs."""
    try:
        regex = re.compile(source)
    except re.error as exc:
        raise PatternError(f"is not a valid regular expression ({exc})") from None
    missing = REQUIRED_GROUPS[fact] - set(regex.groupindex)
    if missing:
        groups = ", ".join(f"(?P<{group}>...)" for group in sorted(missing))
        raise PatternError(f"needs the named group {groups}")
    return regex
