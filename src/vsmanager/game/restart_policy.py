"""When to start the game again after it ends. Pure: fed with facts and a clock, no I/O.

A crash is an exit nobody asked for with a non-zero code or a signal (or a start that failed
while restarting). After a crash the game is started again after a delay that doubles with
each crash counted in the window, until the limit: the crash that reaches the limit within
the window is not restarted. A run that lasted longer than the window starts the count afresh,
and so does anything a person does (a manual start or stop: :meth:`RestartPolicy.reset`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

RestartMode = Literal["on-crash", "never"]
Outcome = Literal["stopped", "crashed", "killed"]


@dataclass(frozen=True, slots=True)
class RestartRules:
    mode: RestartMode = "on-crash"
    delay: float = 5.0
    max_delay: float = 300.0
    limit: int = 5
    window: float = 600.0


@dataclass(frozen=True, slots=True)
class Exit:
    """What happened: the exit code (negative: killed by that signal; None: never started),
    whether someone asked for it, and how long the run lasted."""

    code: int | None
    requested: bool
    ran_for: float


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    restart_in: float | None  # seconds until the game is started again; None: it is not
    crashes: int  # crashes counted in the window, this one included
    gave_up: bool
    message: str  # what the console says about it, after "server exited with code 3; "


def outcome_of(code: int | None, requested: bool) -> Outcome:
    """Stopped: asked for and ended its own way, or ended with 0 by itself; killed: asked for
    and ended by a signal; crashed: anything else nobody asked for."""
    if requested:
        return "killed" if code is not None and code < 0 else "stopped"
    return "stopped" if code == 0 else "crashed"


class RestartPolicy:
    def __init__(self, rules: RestartRules) -> None:
        if rules.limit < 1 or rules.delay <= 0 or rules.max_delay < rules.delay or rules.window <= 0:
            raise ValueError(f"restart rules out of range: {rules}")
        self.rules = rules
        self._crashes: deque[float] = deque()  # clock times of the crashes in the window
        self.gave_up = False

    def crashes(self, now: float) -> int:
        """Crashes counted in the window ending at ``now``."""
        self._forget_before(now)
        return len(self._crashes)

    def reset(self) -> None:
        """Someone started or stopped the game by hand: the count starts afresh."""
        self._crashes.clear()
        self.gave_up = False

    def on_exit(self, event: Exit, now: float) -> Decision:
        rules = self.rules
        outcome = outcome_of(event.code, event.requested)
        if outcome != "crashed":
            return Decision(outcome, None, self.crashes(now), self.gave_up, "")
        if event.ran_for > rules.window:
            self._crashes.clear()
        self._forget_before(now)
        self._crashes.append(now)
        count = len(self._crashes)
        window = describe_seconds(rules.window)
        if rules.mode == "never":
            return Decision(outcome, None, count, False, "not restarting (VS_SERVER_RESTART=never)")
        if count >= rules.limit:
            self.gave_up = True
            times = "once" if count == 1 else f"{count} times"
            message = f"crashed {times} in {window}: not restarting; start it by hand"
            return Decision(outcome, None, count, True, message)
        delay = min(rules.delay * 2 ** (count - 1), rules.max_delay)
        message = f"restarting in {describe_seconds(delay)}, crash {count} of {rules.limit} in {window}"
        return Decision(outcome, delay, count, False, message)

    def _forget_before(self, now: float) -> None:
        while self._crashes and now - self._crashes[0] > self.rules.window:
            self._crashes.popleft()


def describe_seconds(seconds: float) -> str:
    """``5 s``, ``0.5 s``, ``10 min``, ``2 h``: whole minutes or hours when they are whole."""
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"
