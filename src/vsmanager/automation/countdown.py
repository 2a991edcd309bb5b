"""A pending action's countdown: when it acts, and the two ways a person can cut it short
(``skip`` this one, or act ``now``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

Choice = Literal["skip", "now"]
# How often a wait looks at the wall clock: a clock set forward or back is followed within it.
CLOCK_CHECK_S = 1.0


@dataclass(slots=True)
class Countdown:
    schedule: str
    action: str
    at: datetime
    choice: Choice | None = None
    by: str | None = None
    _decided: asyncio.Event = field(default_factory=asyncio.Event)

    def decide(self, choice: Choice, by: str) -> None:
        if self.choice is None:
            self.choice, self.by = choice, by
            self._decided.set()

    async def wait_until(self, moment: datetime) -> Choice | None:
        """Sleep until ``moment`` (wall clock) or a decision, whichever comes first."""
        while self.choice is None:
            remaining = (moment - datetime.now(UTC)).total_seconds()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(self._decided.wait(), min(remaining, CLOCK_CHECK_S))
            except TimeoutError:
                pass
        return self.choice

    def as_json(self) -> dict[str, str]:
        return {"schedule": self.schedule, "action": self.action,
                "at": self.at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")}


async def sleep_until(moment: datetime) -> None:
    """Sleep until a wall-clock moment, looking at the clock at least every second."""
    # Polling, not an event: what ends the wait is the wall clock itself.
    while (remaining := (moment - datetime.now(UTC)).total_seconds()) > 0:  # noqa: ASYNC110
        await asyncio.sleep(min(remaining, CLOCK_CHECK_S))
