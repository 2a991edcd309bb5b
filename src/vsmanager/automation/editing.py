"""Changes to the schedules file from the API and the CLI: add, replace, remove, pause,
resume. Each checks the entry, rewrites the whole file atomically and has the scheduler
re-read it at once; the other entries (bad ones too) stay as they were written."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from vsmanager.automation.schedule import Schedule, ScheduleError, parse_schedule
from vsmanager.automation.scheduler import Scheduler
from vsmanager.automation.store import MAX_SCHEDULES, read_file, write_file


class EditRefused(Exception):
    """``code``: not_found, exists, no_file, invalid, busy, no_countdown."""

    def __init__(self, code: str, message: str, error: ScheduleError | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.error = error


def describe(scheduler: Scheduler, name: str, preview: int = 5) -> dict[str, Any]:
    """What the API returns for one schedule: its definition, paused, next, runs (or error)."""
    entry = scheduler.entry(name)
    if entry is None:
        raise EditRefused("not_found", f"no schedule named {name!r}")
    track = scheduler.history.tracks.get(name)
    runs = [run.as_json() for run in track.runs] if track is not None else []
    if entry.schedule is None:
        assert entry.error is not None
        return {**_plain(entry.raw), "name": name, "error": entry.error.as_json(), "paused": False,
                "next": [], "runs": runs}
    schedule = entry.schedule
    return {**schedule.as_json(), "paused": schedule.paused,
            "next": [_local(due, schedule) for due in scheduler.next_due(schedule, preview)],
            "runs": runs, "countdown": (c.as_json() if (c := scheduler.countdowns.get(name)) else None)}


def preview(data: object, actions: frozenset[str], count: int = 5) -> list[str]:
    """The next due times of a definition not saved yet (the page's preview as you type)."""
    schedule = parse_schedule(data, actions)
    timing = schedule.timing(datetime.now(UTC))
    found: list[str] = []
    due = timing.after(datetime.now(UTC))
    while due is not None and len(found) < count:
        found.append(_local(due, schedule))
        due = timing.after(due)
    return found


def add(scheduler: Scheduler, data: object) -> None:
    schedule = _check(scheduler, data)
    raws = _raws(scheduler)
    if any(raw.get("name") == schedule.name for raw in raws):
        raise EditRefused("exists", f"a schedule named {schedule.name!r} exists; PUT replaces it")
    if len(raws) >= MAX_SCHEDULES:
        raise EditRefused("invalid", f"at most {MAX_SCHEDULES} schedules")
    _write(scheduler, [*raws, schedule.as_json()])


def replace(scheduler: Scheduler, name: str, data: object) -> None:
    if isinstance(data, dict):
        data = {"name": name, **data}
        current = scheduler.schedule(name)
        if "paused" not in data and current is not None and current.paused:
            data["paused"] = True  # an edit does not resume a paused schedule
    schedule = _check(scheduler, data)
    if schedule.name != name:
        raise EditRefused("invalid", "the name in the body differs from the one in the path",
                          ScheduleError(schedule.name, "name", "must be the path's name"))
    raws = _raws(scheduler)
    index = _index(raws, name)
    raws[index] = schedule.as_json()
    _write(scheduler, raws)


def remove(scheduler: Scheduler, name: str) -> None:
    raws = _raws(scheduler)
    del raws[_index(raws, name)]
    _write(scheduler, raws)


def set_paused(scheduler: Scheduler, name: str, paused: bool) -> None:
    raws = _raws(scheduler)
    index = _index(raws, name)
    if scheduler.schedule(name) is None:
        raise EditRefused("invalid", f"schedule {name!r} has an error; fix it first")
    raw = dict(raws[index])
    if paused:
        raw["paused"] = True
    else:
        raw.pop("paused", None)
    raws[index] = raw
    _write(scheduler, raws)


def _check(scheduler: Scheduler, data: object) -> Any:
    try:
        return parse_schedule(data, scheduler.actions.names)
    except ScheduleError as exc:
        raise EditRefused("invalid", str(exc), exc) from None


def _raws(scheduler: Scheduler) -> list[dict[str, Any]]:
    if scheduler.path is None:
        raise EditRefused("no_file", "no schedules file: set VS_SCHEDULES_FILE (vsmanager init makes one)")
    # The file as it is now, not as last read: an edit by hand a moment ago is kept.
    return [dict(entry.raw) for entry in read_file(scheduler.path, scheduler.actions.names)]


def _index(raws: list[dict[str, Any]], name: str) -> int:
    for index, raw in enumerate(raws):
        if raw.get("name") == name:
            return index
    raise EditRefused("not_found", f"no schedule named {name!r}")


def _write(scheduler: Scheduler, raws: list[dict[str, Any]]) -> None:
    assert scheduler.path is not None
    write_file(scheduler.path, raws)
    scheduler.reload()


def _local(due: datetime, schedule: Schedule) -> str:
    """ISO 8601 with the offset of the schedule's zone (the host's for an interval)."""
    return due.astimezone(schedule.zone).isoformat(timespec="seconds")


def _plain(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if isinstance(k, str)}
