"""Console lines matching a target's rules, each rule told at most once a minute with a
count of the matches held back. Pure: fed with lines and a clock."""

from __future__ import annotations

from dataclasses import dataclass

from vsmanager.notify.target import MatchRule

RULE_INTERVAL_S = 60.0


@dataclass(slots=True)
class _Gate:
    last_sent: float | None = None
    held: int = 0


class LineMatcher:
    def __init__(self, rules: tuple[MatchRule, ...], interval: float = RULE_INTERVAL_S) -> None:
        self.rules = rules
        self.interval = interval
        self._gates = {rule.name: _Gate() for rule in rules}

    def feed(self, text: str, now: float) -> list[tuple[str, int]]:
        """The rules to tell of this line now, each with the matches held back before it."""
        told = []
        for rule in self.rules:
            if rule.pattern.search(text) is None:
                continue
            gate = self._gates[rule.name]
            if gate.last_sent is not None and now - gate.last_sent < self.interval:
                gate.held += 1
                continue
            told.append((rule.name, gate.held))
            gate.last_sent, gate.held = now, 0
        return told

    def flush(self, now: float) -> list[tuple[str, int]]:
        """Rules with matches held back whose minute has passed: told now, with the count."""
        due = []
        for name, gate in self._gates.items():
            if gate.held and gate.last_sent is not None and now - gate.last_sent >= self.interval:
                due.append((name, gate.held))
                gate.last_sent, gate.held = now, 0
        return due
