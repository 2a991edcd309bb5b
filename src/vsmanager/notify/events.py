"""The events a target can ask for, and the ones it gets by default. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

EVENTS = (
    "vsmanager_started", "vsmanager_stopping", "started", "ready", "stopped", "crashed",
    "restarting", "gave_up", "schedule_warning", "schedule_run", "backup_done", "backup_failed",
    "player_joined", "player_left", "key_added", "key_removed", "console_match",
)
# Players come and go all day: a target names these to get them; "*" does not.
NAMED_ONLY = frozenset({"player_joined", "player_left"})
DEFAULT_EVENTS = frozenset({"crashed", "gave_up", "schedule_run"})
TEST_EVENT = "test"


@dataclass(frozen=True, slots=True)
class Event:
    name: str
    data: dict[str, Any] = field(default_factory=dict)
    time: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def iso_time(self) -> str:
        return self.time.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def expand(names: list[str] | None) -> frozenset[str]:
    """A target's ``events``: None → the defaults; ``"*"`` → all but the players'."""
    if names is None:
        return DEFAULT_EVENTS
    chosen = set(names)
    if "*" in chosen:
        chosen.discard("*")
        chosen |= set(EVENTS) - NAMED_ONLY
    return frozenset(chosen)
