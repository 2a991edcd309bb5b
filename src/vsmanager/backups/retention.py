"""Which backups to keep: a pure policy fed with the backups and a few facts.

A backup is kept if any rule keeps it: the newest ``keep_last``; the newest of each of the
last ``keep_daily`` days that have one; the newest of each of the last ``keep_weekly`` ISO
weeks that have one. Whatever the rules say, the newest verified backup and any backup being
downloaded or restored are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Kept:
    id: str
    time: datetime
    verified: bool


@dataclass(frozen=True)
class RetentionRules:
    keep_last: int = 10
    keep_daily: int = 7
    keep_weekly: int = 4


def to_delete(
    backups: Iterable[Kept], rules: RetentionRules, protected: AbstractSet[str] = frozenset()
) -> list[str]:
    """The ids the rules let go, oldest first."""
    newest_first = sorted(backups, key=lambda b: b.time, reverse=True)
    keep = {b.id for b in newest_first[: rules.keep_last]}
    keep |= _newest_per(newest_first, rules.keep_daily, lambda t: t.date())
    keep |= _newest_per(newest_first, rules.keep_weekly, lambda t: t.isocalendar()[:2])
    verified = [b for b in newest_first if b.verified]
    if verified:
        keep.add(verified[0].id)
    keep |= protected
    return [b.id for b in reversed(newest_first) if b.id not in keep]


def _newest_per(newest_first: list[Kept], count: int, period: Callable[[datetime], Hashable]) -> set[str]:
    seen: dict[Hashable, str] = {}
    for backup in newest_first:
        key = period(backup.time)
        if key not in seen:
            if len(seen) >= count:
                break
            seen[key] = backup.id
    return set(seen.values())
