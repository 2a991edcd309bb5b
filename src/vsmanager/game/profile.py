"""What the game's console says about the game: a profile of line patterns, and the facts
they add up to (version, players, overloaded ticks).

Pure: lines in, facts out; no I/O, no clock. The supervisor feeds every line the game
prints to :meth:`GameFacts.observe` and tells it when a run ends. See docs/operations.md for
the patterns and how to write them for another game.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from vsmanager.config.patterns import Fact, ProfileName, compile_pattern

# Bounds on what a console can make vsmanager remember (a pattern for another game that
# matches far too much must not grow the status without end): names kept, and their length.
MAX_PLAYER_NAMES = 1_000
MAX_NAME_CHARS = 64


@dataclass(frozen=True, slots=True)
class Pattern:
    regex: re.Pattern[str]
    # A literal that every match contains (or ends with, if ``at_end``): a line without it
    # skips the regex. Most console lines match nothing, and a substring test is several
    # times cheaper than a regex.
    needle: str | None = None
    at_end: bool = False

    def search(self, text: str) -> re.Match[str] | None:
        if self.needle is not None and self.needle not in text:
            return None
        return self.regex.search(text)


@dataclass(frozen=True, slots=True)
class GameProfile:
    name: str
    patterns: Mapping[Fact, Pattern]


# Vintage Story prints "D.M.YYYY HH:MM:SS [Server <Channel>] message" (day and month not
# padded); continuation lines and some startup lines carry no prefix. Anchoring every
# pattern at the start, after an optional stamp and the one channel that may print it,
# means a player cannot forge a fact by chatting it: chat lines start "[Server Chat] ".
_STAMP = r"^(?:\d{1,2}\.\d{1,2}\.\d{4} \d{1,2}:\d{2}:\d{2} )?"
_NOTIFICATION = _STAMP + r"(?:\[Server Notification\] )?"
_EVENT = _STAMP + r"\[Server Event\] "
# Player names hold no spaces; an address is IPv4, IPv6 or IPv4-mapped, in brackets.
_PLAYER = r"(?P<name>[^\s\[\]]+) \[(?P<address>[^\]\s]+)\]:(?P<port>\d{1,5})"

# Each fact: its pattern, and the needle every match contains or, marked "$", ends with.
VINTAGE_STORY_PATTERNS: Mapping[Fact, tuple[str, str]] = {
    "version": (
        _NOTIFICATION + r"Game Version: v(?P<version>\d+(?:\.\d+)+(?:-[0-9A-Za-z.]+)?)"
        r"(?: \((?P<channel>[A-Za-z][A-Za-z ]*)\))?\s*$",
        "Game Version: v",
    ),
    "join": (_EVENT + _PLAYER + r" joins\.$", "$ joins."),
    "leave": (_EVENT + r"Player (?P<name>[^\s\[\]]+) left\.$", "$ left."),
    "list_header": (_NOTIFICATION + r"List of online Players\b.*$", "Players"),
    "list_entry": (_STAMP + r"\[(?P<index>\d+)\] " + _PLAYER + r"\s*$", "] "),
    "players": (
        _NOTIFICATION + r"Players online: (?P<online>\d{1,6}) ?/ ?(?P<max>\d{1,6})\s*$",
        "Players",
    ),
    "overload": (
        _STAMP + r"\[Server Warning\] Server overloaded\. A tick took (?P<ms>\d{1,9}) ?ms "
        r"to complete\.$",
        "$to complete.",
    ),
}


def build_profile(name: ProfileName, overrides: Mapping[Fact, str] | None = None) -> GameProfile:
    """The built-in profile ``name``, with the patterns in ``overrides`` put in its place
    (an empty pattern removes that fact)."""
    patterns: dict[Fact, Pattern] = {}
    if name == "vintagestory":
        for fact, (source, needle) in VINTAGE_STORY_PATTERNS.items():
            at_end = needle.startswith("$")
            patterns[fact] = Pattern(compile_pattern(fact, source), needle.lstrip("$"), at_end)
    for fact, source in (overrides or {}).items():
        if source:
            patterns[fact] = Pattern(compile_pattern(fact, source))
        else:
            patterns.pop(fact, None)
    return GameProfile(name, patterns)


class GameFacts:
    """The facts the console has shown so far: version, players, overloaded ticks.

    Player names come from joins and leaves; the answers of ``/list clients`` (the whole
    list) and ``/stats`` (the count and the maximum) correct them, so a missed line heals.
    Addresses are matched but never kept.
    """

    def __init__(self, profile: GameProfile) -> None:
        self.profile = profile
        patterns = profile.patterns
        self._version = patterns.get("version")
        self._join = patterns.get("join")
        self._leave = patterns.get("leave")
        self._list_header = patterns.get("list_header")
        self._list_entry = patterns.get("list_entry")
        self._players = patterns.get("players")
        self._overload = patterns.get("overload")
        # The gate: a line that ends with none of these and contains none of those matches
        # no pattern (list entries aside), and costs two cheap string tests, not six regexes.
        gated = [pattern for fact, pattern in patterns.items() if fact != "list_entry"]
        self._gate = all(pattern.needle for pattern in gated)
        self._gate_ends = tuple(dict.fromkeys(p.needle for p in gated if p.needle and p.at_end))
        self._gate_contains = tuple(dict.fromkeys(p.needle for p in gated if p.needle and not p.at_end))
        self.version: str | None = None
        self.channel: str | None = None
        # Names in the order they joined (a dict keeps order and finds a name at once).
        self.players: dict[str, None] = {}
        # Players a count said are online whose names no line has given.
        self.unnamed = 0
        self.players_max: int | None = None
        self.overloaded_ticks = 0
        self.last_overload_ms: int | None = None
        # While a /list answer is being read: its stream and the names so far.
        self._listing: tuple[str, list[str]] | None = None

    @property
    def players_online(self) -> int:
        return len(self.players) + self.unnamed

    def as_status(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "channel": self.channel,
            "players_online": self.players_online,
            "players_max": self.players_max,
            "players": list(self.players),
            "overloaded_ticks": self.overloaded_ticks,
            "last_overload_ms": self.last_overload_ms,
        }

    def observe(self, stream: str, text: str) -> bool:
        """Take one line the game printed; True if the facts changed."""
        if self._listing is None:
            if self._gate and not text.endswith(self._gate_ends):
                for needle in self._gate_contains:
                    if needle in text:
                        break
                else:
                    return False
            return self._match(stream, text)
        changed = False
        if self._listing[0] == stream:
            if self._list_entry is not None:
                entry = self._list_entry.search(text)
                if entry is not None:
                    return self._listed(entry["name"])
            # The first line that is not an entry ends the list.
            changed = self._end_listing()
        return self._match(stream, text) or changed

    def run_ended(self) -> bool:
        """The game exited: nobody is online any more. True if the facts changed."""
        changed = self.players_online > 0
        self.players.clear()
        self.unnamed = 0
        self._listing = None
        return changed

    # -- the facts, one line at a time --------------------------------------------------

    def _match(self, stream: str, text: str) -> bool:
        if self._join is not None and (found := self._join.search(text)) is not None:
            return self._joined(found["name"])
        if self._leave is not None and (found := self._leave.search(text)) is not None:
            return self._left(found["name"])
        if self._overload is not None and (found := self._overload.search(text)) is not None:
            self.overloaded_ticks += 1
            self.last_overload_ms = _int_group(found, "ms")
            return True
        if self._players is not None and (found := self._players.search(text)) is not None:
            online = _int_group(found, "online")
            return online is not None and self._counted(online, _int_group(found, "max"))
        if self._list_header is not None and self._list_header.search(text) is not None:
            self._listing = (stream, [])
            return False
        if self._version is not None and (found := self._version.search(text)) is not None:
            return self._versioned(_str_group(found, "version"), _str_group(found, "channel"))
        return False

    def _joined(self, name: str | None) -> bool:
        if not _is_name(name) or name in self.players:
            return False
        if len(self.players) >= MAX_PLAYER_NAMES:
            self.unnamed += 1
        else:
            self.players[name] = None
        return True

    def _left(self, name: str | None) -> bool:
        if not _is_name(name):
            return False
        if name in self.players:
            del self.players[name]
            return True
        if self.unnamed > 0:
            # One of the players we only had a count for.
            self.unnamed -= 1
            return True
        return False

    def _listed(self, name: str | None) -> bool:
        # The list is applied as it is read, so the status is right as soon as the last
        # entry is in, whether or not a line follows it soon.
        assert self._listing is not None
        names = self._listing[1]
        if not _is_name(name) or name in names or len(names) >= MAX_PLAYER_NAMES:
            return False
        names.append(name)
        return self._set_players(names)

    def _end_listing(self) -> bool:
        assert self._listing is not None
        names = self._listing[1]
        self._listing = None
        return self._set_players(names)

    def _set_players(self, names: list[str]) -> bool:
        if list(self.players) == names and self.unnamed == 0:
            return False
        self.players = dict.fromkeys(names)
        self.unnamed = 0
        return True

    def _counted(self, online: int, maximum: int | None) -> bool:
        before = (self.players_online, len(self.players), self.players_max)
        if maximum is not None:
            self.players_max = maximum
        known = len(self.players)
        if online >= known:
            self.unnamed = online - known
        else:
            # Leaves were missed, and which players left is unknown: keep the ones who
            # joined last until /list clients names them all.
            self.players = dict.fromkeys(list(self.players)[known - online:])
            self.unnamed = 0
        return before != (self.players_online, len(self.players), self.players_max)

    def _versioned(self, version: str | None, channel: str | None) -> bool:
        if not version or (version, channel) == (self.version, self.channel):
            return False
        self.version, self.channel = version, channel
        return True


def _is_name(name: str | None) -> TypeGuard[str]:
    return name is not None and 0 < len(name) <= MAX_NAME_CHARS


def _int_group(found: re.Match[str], group: str) -> int | None:
    value = found.groupdict().get(group)
    return int(value) if value is not None and value.isdigit() else None


def _str_group(found: re.Match[str], group: str) -> str | None:
    return found.groupdict().get(group)
