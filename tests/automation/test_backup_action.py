"""A schedule's backup action and the backup events, in a real vsmanager with the simulated
world and a real webhook receiver: the two packages meet only in the app."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from test_schedules_live import schedule, wait_for_ok

from harness import TIME_SCALE, VsManager, run_vsmanager, simulator_command
from webhook_receiver import run_receiver


def wait_for_failed_run(vsm: VsManager, name: str, timeout: float = 30.0) -> dict[str, Any]:
    """The first run that failed (a run due while the game was still starting is skipped)."""
    deadline = time.monotonic() + timeout * TIME_SCALE
    while time.monotonic() < deadline:
        for run in schedule(vsm, name)["runs"]:
            if (run["outcome"] or "").startswith("failed"):
                return dict(run)
        time.sleep(0.1)
    raise AssertionError(f"schedule {name} has no failed run: {schedule(vsm, name)['runs']}")


def test_a_scheduled_backup_is_made_verified_and_told_to_a_webhook(tmp_path: Path) -> None:
    data, backups = tmp_path / "data", tmp_path / "backups"
    data.mkdir()
    schedules = tmp_path / "schedules.json"
    schedules.write_text(json.dumps({"schedules": [{"name": "six-hourly", "every": "3s", "action": "backup"}]}))
    with run_receiver() as receiver:
        targets = tmp_path / "notifications.json"
        targets.write_text(json.dumps({"notifications": [{
            "name": "ops", "kind": "webhook", "url": receiver.url("/hook"),
            "events": ["backup_done", "backup_failed"],
        }]}))
        command = simulator_command("--dataPath", str(data), "--writes-per-second", "50")
        with run_vsmanager(command, backup_dir=backups, backup_timeout=30, schedules_file=schedules,
                           notifications_file=targets) as vsm:
            vsm.wait_for_state("running")
            run = wait_for_ok(vsm, "six-hourly", timeout=60)
            told = receiver.wait("/hook", timeout=30)[0].json
            with vsm.client() as client:
                listed = client.get("/backups").json()["backups"]
    made = [b for b in listed if b["made_by"] == "schedule:six-hourly"]
    assert made and made[0]["verified"] is True, listed
    assert told["event"] == "backup_done", told
    assert told["data"]["made_by"] == "schedule:six-hourly"
    assert told["data"]["id"] in {b["id"] for b in made}
    assert run["outcome"] == "ok"


def test_a_scheduled_backup_that_cannot_be_made_fails_the_run_with_the_reason(tmp_path: Path) -> None:
    schedules = tmp_path / "schedules.json"
    schedules.write_text(json.dumps({"schedules": [{"name": "nightly", "every": "2s", "action": "backup"}]}))
    with run_receiver() as receiver:
        targets = tmp_path / "notifications.json"
        targets.write_text(json.dumps({"notifications": [{
            "name": "ops", "kind": "webhook", "url": receiver.url("/hook"), "events": ["schedule_run"],
        }]}))
        # No VS_BACKUP_DIR: backups are off, so the action is refused, saying how to turn them on.
        with run_vsmanager(simulator_command(), schedules_file=schedules, notifications_file=targets) as vsm:
            vsm.wait_for_state("running")
            run = wait_for_failed_run(vsm, "nightly")
            told = receiver.wait("/hook", timeout=30)[0].json
    assert run["outcome"].startswith("failed") and "VS_BACKUP_DIR" in run["outcome"], run
    assert told["event"] == "schedule_run", told
