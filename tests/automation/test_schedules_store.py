"""The schedules file: TOML or JSON, bad entries kept with their errors, atomic rewrites."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vsmanager.automation.store import SchedulesFileError, read_file, write_file

ISSUE_EXAMPLE = '''
[[schedules]]
name = "nightly"                  # letters, digits, - and _
cron = "0 4 * * *"                # or: every = "6h"
timezone = "Europe/Berlin"
action = "restart"                # restart | stop | start | command | backup
warn = ["15m", "5m", "1m"]
announce = "/announce Server restarts in {in}"
when_players = "wait"             # ignore | wait | skip
max_wait = "1h"

[[schedules]]
name = "save"
every = "30m"
action = "command"
commands = ["/autosavenow"]
'''


def test_the_issue_example_reads(tmp_path: Path) -> None:
    path = tmp_path / "schedules.toml"
    path.write_text(ISSUE_EXAMPLE)
    entries = read_file(path)
    assert [e.name for e in entries] == ["nightly", "save"]
    assert all(e.error is None for e in entries)


def test_a_bad_entry_is_kept_with_its_error_and_the_others_run(tmp_path: Path) -> None:
    path = tmp_path / "schedules.json"
    path.write_text(json.dumps({"schedules": [
        {"name": "ok", "every": "5s", "action": "command", "commands": ["/stats"]},
        {"name": "broken", "every": "5 parsecs", "action": "restart"},
        {"name": "ok", "every": "5s", "action": "start"},
    ]}))
    ok, broken, twin = read_file(path)
    assert ok.schedule is not None
    assert broken.error is not None and (broken.name, broken.error.field) == ("broken", "every")
    assert twin.error is not None and twin.error.field == "name"


def test_a_missing_file_has_no_schedules(tmp_path: Path) -> None:
    assert read_file(tmp_path / "none.toml") == []


@pytest.mark.parametrize("text", ["[[schedules]\n", "schedules = 5", "[other]\nx = 1", "\xff"])
def test_an_unreadable_file_is_refused_naming_it(tmp_path: Path, text: str) -> None:
    path = tmp_path / "schedules.toml"
    path.write_text(text, encoding="latin-1")
    with pytest.raises(SchedulesFileError, match=r"schedules\.toml"):
        read_file(path)


def test_an_oversized_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "schedules.toml"
    path.write_text("#" * (2 * 1024 * 1024))
    with pytest.raises(SchedulesFileError, match="larger"):
        read_file(path)


@pytest.mark.parametrize("name", ["schedules.toml", "schedules.json"])
def test_rewrites_read_back_the_same(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(ISSUE_EXAMPLE if name.endswith("toml") else "{}")
    raws = [e.raw for e in read_file(path)] + [{"name": "x", "every": "1h", "action": "start"}]
    write_file(path, raws)
    assert [e.raw for e in read_file(path)] == raws
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left
