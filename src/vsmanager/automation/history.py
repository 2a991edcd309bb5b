"""The runs of every schedule (the last 100 each) and where each schedule's series stands,
kept in a JSON state file beside the schedules file so that they outlive vsmanager: a
restarted vsmanager knows which slots passed while it was down (missed) and never runs a slot
it already ran."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from vsmanager.automation.files import read_text, write_atomically

log = structlog.get_logger("vsmanager.schedules")

RUNS_KEPT = 100


@dataclass(slots=True)
class Run:
    start: str
    end: str | None = None
    outcome: str | None = None  # ok, skipped: <why>, failed: <why>, missed; None while going
    detail: str | None = None  # what an ok run adds (a wait for players)
    slot: str | None = None  # the due time it served; None for a run by hand
    by: str | None = None

    @property
    def kind(self) -> str:
        """The outcome without its reason: ok, skipped, failed, missed (or running)."""
        return (self.outcome or "running").split(":", 1)[0]

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None or k in ("end", "outcome")}


@dataclass(slots=True)
class Track:
    """One schedule's runs, the last slot it acted on, and the next it waits for."""

    runs: deque[Run] = field(default_factory=lambda: deque(maxlen=RUNS_KEPT))
    last_slot: str | None = None
    next_slot: str | None = None
    every: float | None = None  # the interval the next slot belongs to, for counting misses

    @property
    def last_run(self) -> Run | None:
        return self.runs[-1] if self.runs else None

    def last_of(self, kind: str) -> Run | None:
        return next((run for run in reversed(self.runs) if run.kind == kind), None)


class History:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.tracks: dict[str, Track] = {}

    def track(self, name: str) -> Track:
        track = self.tracks.get(name)
        if track is None:
            track = self.tracks[name] = Track()
        return track

    def load(self) -> None:
        if self.path is None:
            return
        try:
            text = read_text(self.path)
            document = json.loads(text) if text is not None else {}
            schedules = document.get("schedules", {}) if isinstance(document, dict) else {}
            self.tracks = {str(name): _track(data) for name, data in schedules.items()}
        except (OSError, ValueError, TypeError, AttributeError, KeyError) as exc:
            # The runs are a record, not the schedules: start afresh rather than not at all.
            log.error("schedule_state_unreadable", path=str(self.path), error=str(exc)[:200])
            self.tracks = {}

    def save(self) -> None:
        if self.path is None:
            return
        document = {"schedules": {
            name: {"runs": [run.as_json() for run in track.runs], "last_slot": track.last_slot,
                   "next_slot": track.next_slot, "every": track.every}
            for name, track in self.tracks.items()
        }}
        try:
            write_atomically(self.path, json.dumps(document, indent=1) + "\n")
        except OSError as exc:
            log.error("schedule_state_not_saved", path=str(self.path), error=str(exc))

    def forget(self, name: str) -> None:
        self.tracks.pop(name, None)


def _track(data: dict[str, Any]) -> Track:
    track = Track()
    for item in data.get("runs", [])[-RUNS_KEPT:]:
        track.runs.append(Run(**{k: item.get(k) for k in Run.__slots__ if k in item}))
    track.last_slot = data.get("last_slot")
    track.next_slot = data.get("next_slot")
    track.every = data.get("every")
    return track


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def now_iso() -> str:
    return iso(datetime.now(UTC))
