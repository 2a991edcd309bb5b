"""One schedule's definition: a name, a time (cron or interval) and an action, checked field
by field. Pure: a dict in, a :class:`Schedule` or a :class:`ScheduleError` naming the field."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, Literal, get_args

from vsmanager.automation.durations import DurationError, format_duration, parse_duration, spoken_duration
from vsmanager.automation.timing import CronTiming, IntervalTiming, Timing, TimingError, zone

ActionName = Literal["restart", "stop", "start", "command", "backup"]
WhenPlayers = Literal["ignore", "wait", "skip"]
ACTIONS: tuple[str, ...] = get_args(ActionName)
NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_COMMANDS = 20
MAX_COMMAND_CHARS = 1000
MAX_WARNINGS = 10
DEFAULT_MAX_WAIT_S = 3600
DEFAULT_ANNOUNCE = {
    "restart": "/announce Server restarts in {in}",
    "stop": "/announce Server stops in {in}",
}
_KEYS = ("name", "cron", "every", "timezone", "action", "commands", "warn", "announce",
         "when_players", "max_wait", "paused")


class ScheduleError(ValueError):
    """A definition refused: the schedule's ``name`` (or None), the ``field`` and ``why``."""

    def __init__(self, name: str | None, field: str, why: str) -> None:
        super().__init__(f"schedule {name or '?'}: {field}: {why}")
        self.name = name
        self.field = field
        self.why = why

    def as_json(self) -> dict[str, str]:
        return {"field": self.field, "why": self.why}


@dataclass(frozen=True, slots=True)
class Schedule:
    name: str
    action: ActionName
    cron: str | None = None
    every: int | None = None  # seconds
    timezone: str | None = None
    commands: tuple[str, ...] = ()
    warn: tuple[int, ...] = ()  # seconds before the action, longest first
    announce: str | None = None
    when_players: WhenPlayers = "ignore"
    max_wait: int = DEFAULT_MAX_WAIT_S
    paused: bool = False
    _timing_zone: Any = field(default=None, compare=False, repr=False)

    def timing(self, anchor: datetime) -> Timing:
        """When it is due; ``anchor`` starts an interval's series."""
        if self.cron is not None:
            return CronTiming(self.cron, self.zone)
        assert self.every is not None
        return IntervalTiming(self.every, anchor)

    @property
    def zone(self) -> tzinfo:
        """The zone its times are read in: its own, else the host's."""
        return self._timing_zone or zone(self.timezone)

    @property
    def announce_template(self) -> str | None:
        if not self.warn:
            return None
        return self.announce if self.announce is not None else DEFAULT_ANNOUNCE.get(self.action)

    def announcement(self, seconds_left: float) -> str | None:
        template = self.announce_template
        return None if template is None else template.replace("{in}", spoken_duration(seconds_left))

    def as_json(self) -> dict[str, Any]:
        """The definition with the file's keys (defaults left out), durations as text."""
        out: dict[str, Any] = {"name": self.name}
        if self.cron is not None:
            out["cron"] = self.cron
        if self.every is not None:
            out["every"] = format_duration(self.every)
        if self.timezone is not None:
            out["timezone"] = self.timezone
        out["action"] = self.action
        if self.commands:
            out["commands"] = list(self.commands)
        if self.warn:
            out["warn"] = [format_duration(s) for s in self.warn]
        if self.announce is not None:
            out["announce"] = self.announce
        if self.when_players != "ignore":
            out["when_players"] = self.when_players
            out["max_wait"] = format_duration(self.max_wait)
        if self.paused:
            out["paused"] = True
        return out


def parse_schedule(data: object, actions: frozenset[str] | None = None) -> Schedule:
    """Check one entry; ``actions`` are the ones this vsmanager can do (default: all but
    backup, which a backups package adds)."""
    if not isinstance(data, dict):
        raise ScheduleError(None, "schedule", "must be a table (an object) of keys")
    raw_name = data.get("name")
    name = raw_name if isinstance(raw_name, str) else None
    if name is None or not NAME_PATTERN.fullmatch(name):
        raise ScheduleError(None if name is None else name[:64], "name",
                            "required: 1 to 64 letters, digits, - and _")
    return _Checker(name, data, actions).schedule()


class _Checker:
    def __init__(self, name: str, data: dict[str, Any], actions: frozenset[str] | None) -> None:
        self.name = name
        self.data = data
        self.actions = actions if actions is not None else frozenset(ACTIONS) - {"backup"}

    def fail(self, field_name: str, why: str) -> ScheduleError:
        return ScheduleError(self.name, field_name, why)

    def schedule(self) -> Schedule:
        for key in self.data:
            if key not in _KEYS:
                raise self.fail(str(key)[:40], f"unknown key; the keys are {', '.join(_KEYS)}")
        action = self.action()
        cron, every, timezone, tz = self.when()
        commands = self.commands(action)
        warn = self.warn(action, every)
        return Schedule(
            name=self.name, action=action, cron=cron, every=every, timezone=timezone,
            commands=commands, warn=warn, announce=self.announce(warn),
            when_players=self.when_players(), max_wait=self.duration("max_wait", DEFAULT_MAX_WAIT_S),
            paused=self.flag("paused"), _timing_zone=tz,
        )

    def action(self) -> ActionName:
        action = self.data.get("action")
        if action not in ACTIONS:
            raise self.fail("action", f"required: one of {', '.join(ACTIONS)}")
        if action not in self.actions:
            raise self.fail("action", f"{action} is not available in this vsmanager")
        return action  # type: ignore[no-any-return]

    def when(self) -> tuple[str | None, int | None, str | None, Any]:
        cron, every, timezone = (self.data.get(k) for k in ("cron", "every", "timezone"))
        if (cron is None) == (every is None):
            raise self.fail("cron", 'give either cron ("0 4 * * *") or every ("6h"), not both or neither')
        if timezone is not None and (not isinstance(timezone, str) or cron is None):
            raise self.fail("timezone", "a zone name such as Europe/Berlin, with cron only")
        if every is not None:
            return None, self.duration("every", 0), None, None
        if not isinstance(cron, str):
            raise self.fail("cron", 'must be text, like "0 4 * * *"')
        try:
            tz = zone(timezone)
        except TimingError as exc:
            raise self.fail("timezone", str(exc)) from None
        try:
            CronTiming(cron, tz)
        except TimingError as exc:
            raise self.fail("cron", str(exc)) from None
        return " ".join(cron.split()), None, timezone, tz

    def commands(self, action: str) -> tuple[str, ...]:
        commands = self.data.get("commands")
        if action != "command":
            if commands is not None:
                raise self.fail("commands", "only with action = \"command\"")
            return ()
        if not isinstance(commands, list) or not commands or len(commands) > MAX_COMMANDS:
            raise self.fail("commands", f"required: a list of 1 to {MAX_COMMANDS} console commands")
        for command in commands:
            if not isinstance(command, str) or not command.strip():
                raise self.fail("commands", "each must be non-empty text")
            if len(command) > MAX_COMMAND_CHARS or not _one_line(command):
                raise self.fail("commands", f"each must be one line of at most {MAX_COMMAND_CHARS} "
                                "characters without control characters")
        return tuple(commands)

    def warn(self, action: str, every: int | None) -> tuple[int, ...]:
        warn = self.data.get("warn")
        if warn is None:
            return ()
        if action not in ("restart", "stop"):
            raise self.fail("warn", "only with action restart or stop")
        if not isinstance(warn, list) or len(warn) > MAX_WARNINGS:
            raise self.fail("warn", f'a list of at most {MAX_WARNINGS} durations, like ["15m", "5m", "1m"]')
        try:
            seconds = sorted({parse_duration(item) for item in warn}, reverse=True)
        except DurationError as exc:
            raise self.fail("warn", str(exc)) from None
        if every is not None and seconds and seconds[0] >= every:
            raise self.fail("warn", f"the longest warning ({format_duration(seconds[0])}) must be "
                            f"shorter than the interval ({format_duration(every)})")
        return tuple(seconds)

    def announce(self, warn: tuple[int, ...]) -> str | None:
        announce = self.data.get("announce")
        if announce is None:
            return None
        if not isinstance(announce, str) or not announce.strip() or len(announce) > MAX_COMMAND_CHARS \
                or not _one_line(announce):
            raise self.fail("announce", "one line of text, like \"/announce Server restarts in {in}\"")
        if not warn:
            raise self.fail("announce", "only with warn (the times to announce)")
        return announce

    def when_players(self) -> WhenPlayers:
        value = self.data.get("when_players", "ignore")
        if value not in ("ignore", "wait", "skip"):
            raise self.fail("when_players", "one of ignore, wait, skip")
        if "max_wait" in self.data and value != "wait":
            raise self.fail("max_wait", 'only with when_players = "wait"')
        return value  # type: ignore[no-any-return]

    def duration(self, key: str, default: int) -> int:
        value = self.data.get(key)
        if value is None:
            return default
        try:
            return parse_duration(value)
        except DurationError as exc:
            raise self.fail(key, str(exc)) from None

    def flag(self, key: str) -> bool:
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            raise self.fail(key, "true or false")
        return value


def _one_line(text: str) -> bool:
    return not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text)
