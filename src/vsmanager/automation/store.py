"""The schedules file: TOML (``[[schedules]]`` tables) or JSON (``{"schedules": [...]}``),
chosen by its suffix. Each entry is checked alone: a bad one is kept as it was written, with
its error (field and why), and the others run. Edits rewrite the whole file atomically."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from vsmanager.automation.files import read_text, write_atomically
from vsmanager.automation.schedule import Schedule, ScheduleError, parse_schedule

MAX_SCHEDULES = 200
_HEADER = ("# vsmanager schedules (docs/automation.md). vsmanager re-reads this file when it\n"
           "# changes; the API and `vsmanager schedule` rewrite it (comments are not kept).\n\n")


class SchedulesFileError(ValueError):
    """The file as a whole cannot be read (its syntax, its shape); the message says where."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of the file: its raw table, and the schedule or the error it gave."""

    raw: dict[str, Any]
    schedule: Schedule | None
    error: ScheduleError | None

    @property
    def name(self) -> str | None:
        if self.schedule is not None:
            return self.schedule.name
        name = self.raw.get("name")
        return name if isinstance(name, str) else None


def parse_text(text: str, is_json: bool, actions: frozenset[str] | None = None) -> list[Entry]:
    try:
        document = json.loads(text) if is_json else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise SchedulesFileError(f"not valid {'JSON' if is_json else 'TOML'}: {exc}") from None
    if not isinstance(document, dict) or not set(document) <= {"schedules"}:
        raise SchedulesFileError('expected only a list named "schedules" ([[schedules]] tables)')
    items = document.get("schedules", [])
    if not isinstance(items, list):
        raise SchedulesFileError('"schedules" must be a list of tables')
    if len(items) > MAX_SCHEDULES:
        raise SchedulesFileError(f"more than {MAX_SCHEDULES} schedules")
    return check_entries(items, actions)


def check_entries(items: Iterable[object], actions: frozenset[str] | None = None) -> list[Entry]:
    entries: list[Entry] = []
    seen: set[str] = set()
    for item in items:
        raw = item if isinstance(item, dict) else {"value": item}
        try:
            schedule = parse_schedule(item, actions)
        except ScheduleError as exc:
            entries.append(Entry(raw, None, exc))
            continue
        if schedule.name in seen:
            error = ScheduleError(schedule.name, "name", "another schedule has this name")
            entries.append(Entry(raw, None, error))
            continue
        seen.add(schedule.name)
        entries.append(Entry(raw, schedule, None))
    return entries


def read_file(path: Path, actions: frozenset[str] | None = None) -> list[Entry]:
    """The entries of the file; an absent file has none."""
    try:
        text = read_text(path)
    except (OSError, ValueError) as exc:
        raise SchedulesFileError(f"{path}: {exc}") from None
    if text is None:
        return []
    try:
        return parse_text(text, is_json(path), actions)
    except SchedulesFileError as exc:
        raise SchedulesFileError(f"{path}: {exc}") from None


def write_file(path: Path, raws: list[dict[str, Any]]) -> None:
    write_atomically(path, render(raws, is_json(path)), mode=0o644)


def render(raws: list[dict[str, Any]], as_json: bool) -> str:
    if as_json:
        return json.dumps({"schedules": raws}, indent=2) + "\n"
    return _HEADER + tomli_w.dumps({"schedules": raws})


def is_json(path: Path) -> bool:
    return path.suffix.lower() == ".json"
