"""A schedule's definition: each field checked, errors naming the schedule, field and why."""

from __future__ import annotations

from typing import Any

import pytest

from vsmanager.automation.schedule import ScheduleError, parse_schedule

NIGHTLY = {"name": "nightly", "cron": "0 4 * * *", "timezone": "Europe/Berlin", "action": "restart",
           "warn": ["15m", "5m", "1m"], "announce": "/announce Server restarts in {in}",
           "when_players": "wait", "max_wait": "1h"}


def test_the_issue_examples_parse() -> None:
    nightly = parse_schedule(NIGHTLY)
    assert nightly.warn == (900, 300, 60) and nightly.max_wait == 3600
    assert nightly.announcement(300) == "/announce Server restarts in 5 minutes"
    save = parse_schedule({"name": "save", "every": "30m", "action": "command", "commands": ["/autosavenow"]})
    assert save.every == 1800 and save.commands == ("/autosavenow",)


def test_the_definition_round_trips() -> None:
    nightly = parse_schedule(NIGHTLY)
    assert parse_schedule(nightly.as_json()) == nightly
    assert nightly.as_json() == NIGHTLY


def test_warnings_default_to_the_vintage_story_announce() -> None:
    stop = parse_schedule({"name": "s", "every": "1d", "action": "stop", "warn": ["10s", "1m"]})
    assert stop.warn == (60, 10)
    assert stop.announcement(10) == "/announce Server stops in 10 seconds"
    restart = parse_schedule({"name": "r", "every": "1d", "action": "restart", "warn": ["1m"]})
    assert restart.announcement(60) == "/announce Server restarts in 1 minute"


def refused(data: Any, actions: frozenset[str] | None = None) -> ScheduleError:
    with pytest.raises(ScheduleError) as info:
        parse_schedule(data, actions)
    return info.value


@pytest.mark.parametrize(("change", "field"), [
    ({"name": "bad name"}, "name"),
    ({"name": "x" * 65}, "name"),
    ({"name": None}, "name"),
    ({"cron": None}, "cron"),
    ({"every": "6h"}, "cron"),
    ({"cron": "0 4 * *"}, "cron"),
    ({"cron": "0 25 * * *"}, "cron"),
    ({"cron": 4}, "cron"),
    ({"timezone": "Moon/Base"}, "timezone"),
    ({"action": "explode"}, "action"),
    ({"action": "backup"}, "action"),
    ({"warn": "15m"}, "warn"),
    ({"warn": ["15x"]}, "warn"),
    ({"warn": ["1m"] * 11}, "warn"),
    ({"announce": "a\nb"}, "announce"),
    ({"when_players": "maybe"}, "when_players"),
    ({"max_wait": "forever"}, "max_wait"),
    ({"paused": "yes"}, "paused"),
    ({"colour": "red"}, "colour"),
    ({"commands": ["/stop"]}, "commands"),
])
def test_each_bad_field_is_named(change: dict[str, Any], field: str) -> None:
    error = refused({**NIGHTLY, **change})
    assert error.field == field
    assert error.why
    if field != "name":
        assert error.name == "nightly"


def test_commands_are_checked() -> None:
    base = {"name": "c", "every": "1m", "action": "command"}
    assert refused(base).field == "commands"
    assert refused({**base, "commands": []}).field == "commands"
    assert refused({**base, "commands": ["/say hi\n/stop"]}).field == "commands"
    assert refused({**base, "commands": ["x" * 1001]}).field == "commands"
    assert refused({**base, "commands": ["/a"] * 21}).field == "commands"
    assert refused({**base, "commands": ["/a"], "warn": ["1s"]}).field == "warn"


def test_warnings_must_fit_in_the_interval() -> None:
    error = refused({"name": "r", "every": "10s", "action": "restart", "warn": ["10s"]})
    assert error.field == "warn" and "shorter than the interval" in error.why


def test_max_wait_only_with_wait() -> None:
    assert refused({**NIGHTLY, "when_players": "skip"}).field == "max_wait"


def test_backup_is_accepted_once_registered() -> None:
    data = {"name": "b", "every": "6h", "action": "backup"}
    assert refused(data).field == "action"
    assert parse_schedule(data, frozenset({"backup", "restart"})).action == "backup"


@pytest.mark.parametrize("data", [None, [], "nightly", 5, {"name": 5}])
def test_malformed_entries_are_refused(data: Any) -> None:
    assert refused(data).field in ("schedule", "name")
