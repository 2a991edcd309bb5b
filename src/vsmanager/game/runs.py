"""Runs: each start of the game, numbered from 1 for the life of vsmanager, and the seqs of
its console lines, so that a run's lines can be read after it ended (like ``kubectl logs
--previous``). Pure: the supervisor tells it what happened."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from vsmanager.game.restart_policy import Outcome


@dataclass(slots=True)
class Run:
    run: int
    started_at: str
    first_seq: int  # the first seq this run may have (lines can come before the spawn returns)
    ended_at: str | None = None
    exit_code: int | None = None
    outcome: Outcome | None = None
    last_seq: int | None = None  # the seq of its exit line; None while it runs

    def summary(self) -> dict[str, Any]:
        """The run as status shows it (``last_run``)."""
        return {"run": self.run, "started_at": self.started_at, "ended_at": self.ended_at,
                "exit_code": self.exit_code, "outcome": self.outcome}


@dataclass(frozen=True, slots=True)
class SeqRange:
    first: int
    last: int  # inclusive; last < first when nothing of the run is held

    @property
    def count(self) -> int:
        return max(0, self.last - self.first + 1)


class RunLog:
    """The runs whose lines may still be in the buffer, oldest first."""

    def __init__(self) -> None:
        self._runs: deque[Run] = deque()
        self._count = 0
        self._last_ended: Run | None = None  # kept for status even once its lines are gone

    @property
    def latest(self) -> Run | None:
        return self._runs[-1] if self._runs else None

    @property
    def number(self) -> int | None:
        """The current (or latest) run's number; None before the first."""
        return self._count or None

    @property
    def last_ended(self) -> Run | None:
        return self._last_ended

    def begin(self, first_seq: int, started_at: str, buffer_first: int = 0) -> Run:
        self._forget_before(buffer_first)  # so that the log is bounded by the buffer
        if self.latest is not None and self.latest.outcome is None:
            raise RuntimeError(f"run {self.latest.run} has not ended; expected end() first")
        self._count += 1
        run = Run(self._count, started_at, first_seq)
        self._runs.append(run)
        return run

    def end(self, last_seq: int, ended_at: str, exit_code: int | None, outcome: Outcome) -> Run:
        run = self.latest
        if run is None or run.outcome is not None:
            raise RuntimeError("no run is under way; expected begin() first")
        run.last_seq, run.ended_at, run.exit_code, run.outcome = last_seq, ended_at, exit_code, outcome
        self._last_ended = run
        return run

    def held(self, buffer_first: int, buffer_last: int) -> list[tuple[Run, SeqRange]]:
        """The runs with lines still in the buffer, each with the seqs of it still held."""
        self._forget_before(buffer_first)
        found = []
        for run in self._runs:
            span = self.span(run, buffer_first, buffer_last)
            if span.count:
                found.append((run, span))
        return found

    def find(self, number: int) -> Run | None:
        for run in self._runs:
            if run.run == number:
                return run
        return None

    @staticmethod
    def span(run: Run, buffer_first: int, buffer_last: int) -> SeqRange:
        last = buffer_last if run.last_seq is None else run.last_seq
        return SeqRange(max(run.first_seq, buffer_first), min(last, buffer_last))

    def _forget_before(self, buffer_first: int) -> None:
        # A run that ended before the oldest line held can never be read again.
        while self._runs and self._runs[0].last_seq is not None and self._runs[0].last_seq < buffer_first:
            self._runs.popleft()
