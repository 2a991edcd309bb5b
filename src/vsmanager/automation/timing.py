"""When a schedule is due: a cron expression read in a time zone (by cronsim, a well-kept
parser and evaluator), or a fixed interval from an anchor. Pure: given an instant, the next.

Daylight saving time, the way Debian's cron treats it: a wall-clock time that does not
exist on the day clocks go forward runs once, at the first valid minute after the gap; a
wall-clock time that occurs twice on the day clocks go back runs once, at its first
occurrence (also for expressions with a wildcard hour: ``*/30 * * * *`` runs at 02:00 and
02:30 once each, not again after the clocks went back). Every instant is timezone-aware.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

# A cron expression that matches nothing for this long (``0 0 30 2 *``) is refused: it
# would never run, and looking further costs time on every question.
_HORIZON = timedelta(days=366 * 5)


class TimingError(ValueError):
    """A cron expression or time zone that cannot be used; the message says why."""


def zone(name: str | None) -> tzinfo:
    """The named IANA zone, or the host's local zone when ``name`` is None."""
    if name is None:
        local = datetime.now().astimezone().tzinfo
        assert local is not None
        return _host_zone() or local
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimingError(f"{name[:60]!r} is not a time zone; use a name like Europe/Berlin or UTC") from None


def _host_zone() -> tzinfo | None:
    # The local zone with its rules (a fixed offset would get DST days wrong): the
    # TZ variable, else /etc/localtime's name.
    import os

    name = os.environ.get("TZ", "").lstrip(":")
    if not name:
        try:
            target = os.readlink("/etc/localtime")
        except OSError:
            return None
        name = target.split("zoneinfo/", 1)[-1] if "zoneinfo/" in target else ""
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class CronTiming:
    expression: str
    tz: tzinfo

    def __post_init__(self) -> None:
        fields = self.expression.split()
        if len(fields) != 5:
            raise TimingError(f"{self.expression[:60]!r} must have five fields "
                              "(minute hour day month weekday), like \"0 4 * * *\"")
        try:
            first = next(CronSim(self.expression, datetime.now(self.tz)), None)
        except (CronSimError, ValueError) as exc:
            raise TimingError(f"{self.expression[:60]!r} is not a cron expression ({exc})") from None
        if first is None:
            raise TimingError(f"{self.expression!r} never matches")

    def after(self, moment: datetime) -> datetime | None:
        """The first due time strictly after ``moment`` (None: none within five years)."""
        local = moment.astimezone(self.tz)
        # cronsim works in whole minutes and yields the times strictly after its start.
        start = local.replace(second=0, microsecond=0)
        limit = moment + _HORIZON
        for candidate in CronSim(self.expression, start.astimezone(self.tz)):
            if candidate > limit:
                return None
            if _second_occurrence(candidate) or candidate <= moment:
                continue
            return candidate.astimezone(UTC)
        return None


@dataclass(frozen=True, slots=True)
class IntervalTiming:
    every: float  # seconds
    anchor: datetime  # when the series starts: the first run is one interval later

    def after(self, moment: datetime) -> datetime | None:
        elapsed = (moment - self.anchor).total_seconds()
        steps = max(1, math.floor(elapsed / self.every) + 1)
        due = self.anchor + timedelta(seconds=steps * self.every)
        if due <= moment:  # float rounding at an exact multiple
            due += timedelta(seconds=self.every)
        return due.astimezone(UTC)


Timing = CronTiming | IntervalTiming


def upcoming(timing: Timing, moment: datetime, count: int) -> list[datetime]:
    """The next ``count`` due times after ``moment``."""
    return list(_take(_series(timing, moment), count))


def between(timing: Timing, start: datetime, end: datetime, limit: int) -> list[datetime]:
    """Due times in ``[start, end)``, at most ``limit`` (the earliest)."""
    found: list[datetime] = []
    for due in _series(timing, start - timedelta(microseconds=1)):
        if due >= end or len(found) >= limit:
            break
        found.append(due)
    return found


def _series(timing: Timing, moment: datetime) -> Iterator[datetime]:
    due = timing.after(moment)
    while due is not None:
        yield due
        due = timing.after(due)


def _take(items: Iterator[datetime], count: int) -> Iterator[datetime]:
    for index, item in enumerate(items):
        if index >= count:
            return
        yield item


def _second_occurrence(moment: datetime) -> bool:
    """A wall-clock time the clocks went back over, in its second occurrence."""
    if moment.fold != 1:
        return False
    return moment.replace(fold=0).utcoffset() != moment.utcoffset()
