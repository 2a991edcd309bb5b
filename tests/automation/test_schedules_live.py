"""Schedules at work in a real vsmanager with the simulated game, at accelerated times."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from harness import MONITOR_KEY, TIME_SCALE, VsManager, run_vsmanager, simulator_command

QUIET = ("--event-interval", "3600")  # no random joins and leaves


def write(path: Path, *schedules: dict[str, Any]) -> None:
    path.write_text(json.dumps({"schedules": list(schedules)}))


def schedule(vsm: VsManager, name: str) -> dict[str, Any]:
    """The schedule, once the file has been (re-)read and it exists."""
    deadline = time.monotonic() + 10 * TIME_SCALE
    with vsm.client() as client:
        while True:
            response = client.get(f"/schedules/{name}")
            if response.status_code != 404 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert response.status_code == 200, response.text
        return dict(response.json())


def wait_for_outcome(vsm: VsManager, name: str, outcome: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout * TIME_SCALE
    while time.monotonic() < deadline:
        for run in schedule(vsm, name)["runs"]:
            if run["outcome"] == outcome:
                return run
        time.sleep(0.1)
    raise AssertionError(f"schedule {name} has no {outcome!r} run: {schedule(vsm, name)['runs']}")


def wait_for_run(vsm: VsManager, name: str, count: int = 1, timeout: float = 30.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout * TIME_SCALE
    runs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        runs = [run for run in schedule(vsm, name)["runs"] if run["outcome"] is not None]
        if len(runs) >= count:
            return runs
        time.sleep(0.1)
    raise AssertionError(f"schedule {name} has runs {runs}")


def wait_for_ok(vsm: VsManager, name: str, timeout: float = 30.0) -> dict[str, Any]:
    return wait_for_outcome(vsm, name, "ok", timeout)


def lines(vsm: VsManager) -> list[dict[str, Any]]:
    return list(vsm.history(lines=10_000)["lines"])  # type: ignore[call-overload]


def ts(line: dict[str, Any]) -> float:
    return datetime.fromisoformat(line["ts"].replace("Z", "+00:00")).timestamp()


def test_warnings_reach_the_game_at_their_offsets_then_the_restart(tmp_path: Path) -> None:
    path = tmp_path / "schedules.json"
    write(path, {"name": "nightly", "every": "12s", "action": "restart", "warn": ["4s", "2s"]})
    with run_vsmanager(simulator_command(*QUIET), schedules_file=path) as vsm:
        vsm.wait_for_state("running")
        wait_for_ok(vsm, "nightly")  # (on a loaded machine a later slot may find it still going)
        every = lines(vsm)
        four = next(line for line in every if line["text"].endswith("Server: Server restarts in 4 seconds"))
        two = next(line for line in every if line["text"].endswith("Server: Server restarts in 2 seconds"))
        acting = next(line for line in every if line["text"] == "schedule nightly: restarting the server")
        assert acting["stream"] == "system"
        # Each warning at its offset before the action, give or take the machine's load.
        assert 3.5 < ts(acting) - ts(four) < 4.5 + TIME_SCALE
        assert 1.5 < ts(acting) - ts(two) < 2.5 + TIME_SCALE
        commands = [line for line in every
                    if line["stream"] == "command" and line["text"].startswith("/announce")]
        assert {line.get("by") for line in commands} == {"schedule:nightly"}
        assert any("schedule:nightly restarted the server" in line["text"] for line in every)
        assert all(run["slot"] for run in schedule(vsm, "nightly")["runs"])
        metrics = _metrics(vsm)
        assert 'vsmanager_schedule_runs_total{outcome="ok",schedule="nightly"} 1.0' in metrics


def _metrics(vsm: VsManager) -> str:
    import httpx

    return httpx.get(f"{vsm.url}/metrics", headers={"X-API-Key": vsm.admin_key}, timeout=10).text


def test_the_countdown_shows_in_the_status_and_can_be_skipped(tmp_path: Path) -> None:
    path = tmp_path / "schedules.json"
    write(path, {"name": "nightly", "every": "30s", "action": "restart", "warn": ["25s"]})
    with run_vsmanager(simulator_command(*QUIET), schedules_file=path) as vsm:
        vsm.wait_for_state("running")
        vsm.wait_for_line("Server restarts in 25 seconds")
        countdown = vsm.status()["countdown"]
        assert countdown is not None and countdown["schedule"] == "nightly"  # type: ignore[index]
        with vsm.client(MONITOR_KEY) as monitor:
            assert monitor.post("/schedules/nightly/skip").status_code == 403
        with vsm.client() as client:
            assert client.post("/schedules/nightly/skip").status_code == 202
            assert client.post("/schedules/nightly/skip").status_code == 409
        runs = wait_for_run(vsm, "nightly")
        assert runs[0]["outcome"] == "skipped: skipped by admin"
        assert vsm.status()["countdown"] is None
        assert vsm.status()["run"] == 1  # not restarted


def test_now_ends_the_countdown_at_once(tmp_path: Path) -> None:
    path = tmp_path / "schedules.json"
    write(path, {"name": "nightly", "every": "60s", "action": "restart", "warn": ["50s"]})
    with run_vsmanager(simulator_command(*QUIET), schedules_file=path) as vsm:
        vsm.wait_for_state("running")
        vsm.wait_for_line("Server restarts in 50 seconds")
        with vsm.client() as client:
            assert client.post("/schedules/nightly/now").status_code == 202
        assert wait_for_run(vsm, "nightly")[0]["outcome"] == "ok"
        assert vsm.status()["run"] == 2


def test_wait_holds_the_restart_until_the_players_leave(tmp_path: Path) -> None:
    path = tmp_path / "schedules.json"
    write(path, {"name": "nightly", "every": "8s", "action": "restart", "warn": ["1s"],
                 "when_players": "wait", "max_wait": "5m"})
    with run_vsmanager(simulator_command(*QUIET, "--players", "2"), schedules_file=path) as vsm:
        vsm.wait_for_state("running")
        vsm.wait_for_line("schedule nightly: waiting for 2 players to leave (at most 5 minutes)")
        time.sleep(1.5)
        assert vsm.status()["run"] == 1
        with vsm.client() as client:
            for name in vsm.status()["game"]["players"]:  # type: ignore[index]
                client.post("/console/command", json={"command": f"/kick {name}"})
        run = wait_for_ok(vsm, "nightly")
        assert run["detail"].startswith("waited "), run
        assert run["detail"].endswith("for the players to leave")


def test_skip_skips_when_players_are_online_and_run_now_acts_anyway(tmp_path: Path) -> None:
    path = tmp_path / "schedules.json"
    write(path, {"name": "nightly", "every": "4s", "action": "restart", "when_players": "skip"})
    with run_vsmanager(simulator_command(*QUIET, "--players", "1"), schedules_file=path) as vsm:
        vsm.wait_for_state("running")
        vsm.wait_for_line("joins.")
        wait_for_outcome(vsm, "nightly", "skipped: 1 player online")
        with vsm.client() as client:
            client.post("/schedules/nightly/pause").raise_for_status()
            run = client.post("/schedules/nightly/run")
            assert run.status_code == 202 and run.json()["by"] == "admin"
        deadline = time.monotonic() + 20 * TIME_SCALE
        while vsm.status()["run"] != 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert vsm.status()["run"] == 2


def test_a_restart_of_a_stopped_server_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "schedules.json"
    write(path, {"name": "r", "every": "2s", "action": "restart"})
    with run_vsmanager(simulator_command(*QUIET), autostart=False, schedules_file=path) as vsm:
        assert wait_for_run(vsm, "r")[0]["outcome"] == "skipped: server not running"


def test_pause_stops_the_runs_and_resume_starts_them_again(tmp_path: Path) -> None:
    path = tmp_path / "schedules.json"
    write(path, {"name": "save", "every": "2s", "action": "command", "commands": ["/autosavenow", "/stats"]})
    with run_vsmanager(simulator_command(*QUIET), schedules_file=path) as vsm:
        vsm.wait_for_state("running")
        wait_for_run(vsm, "save")
        with vsm.client() as client:
            paused = client.post("/schedules/save/pause").json()
        assert paused["paused"] is True and paused["next"] == []
        assert json.loads(path.read_text())["schedules"][0]["paused"] is True
        count = len(schedule(vsm, "save")["runs"])
        time.sleep(4.5)
        assert len(schedule(vsm, "save")["runs"]) == count
        with vsm.client() as client:
            assert client.post("/schedules/save/resume").json()["paused"] is False
        wait_for_run(vsm, "save", count + 1)
        sent = [line for line in lines(vsm) if line["stream"] == "command"]
        assert [line["text"] for line in sent[:2]] == ["/autosavenow", "/stats"]
        assert sent[0]["by"] == "schedule:save"


def test_runs_due_while_vsmanager_was_down_are_missed_not_run_late(tmp_path: Path) -> None:
    path = tmp_path / "schedules.json"
    write(path, {"name": "save", "every": "2s", "action": "command", "commands": ["/autosavenow"]})
    with run_vsmanager(simulator_command(*QUIET), schedules_file=path) as vsm:
        vsm.wait_for_state("running")
        wait_for_ok(vsm, "save")
    down = time.time()
    state = json.loads((tmp_path / "schedules.state.json").read_text())
    assert state["schedules"]["save"]["next_slot"]
    time.sleep(5)
    with run_vsmanager(simulator_command(*QUIET), schedules_file=path) as vsm:
        runs = schedule(vsm, "save")["runs"]
        missed = [run for run in runs if run["outcome"] == "missed"]
        assert len(missed) >= 2, runs
        vsm.wait_for_line("missed while vsmanager was not running")
        in_the_gap = [run for run in runs if run["slot"] and down < _epoch(run["slot"]) < down + 5]
        assert in_the_gap and all(run["outcome"] == "missed" for run in in_the_gap), runs
        slots = [run["slot"] for run in runs if run["slot"]]
        assert sorted(slots) == slots


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_the_file_is_reread_and_a_bad_entry_does_not_stop_the_others(tmp_path: Path) -> None:
    path = tmp_path / "schedules.toml"
    path.write_text("")
    with run_vsmanager(simulator_command(*QUIET), schedules_file=path) as vsm:
        vsm.wait_for_state("running")
        path.write_text('[[schedules]]\nname = "bad"\nevery = "soon"\naction = "restart"\n\n'
                        '[[schedules]]\nname = "save"\nevery = "2s"\naction = "command"\n'
                        'commands = ["/autosavenow"]\n')
        wait_for_ok(vsm, "save")
        with vsm.client(MONITOR_KEY) as monitor:
            listed = monitor.get("/schedules").json()["schedules"]
        bad = next(s for s in listed if s["name"] == "bad")
        assert bad["error"]["field"] == "every" and "duration" in bad["error"]["why"]
        vsm.wait_for_line("schedule bad refused: every:")


def test_a_bad_entry_at_start_is_listed_and_vsmanager_starts(tmp_path: Path) -> None:
    path = tmp_path / "schedules.toml"
    path.write_text('[[schedules]]\nname = "x"\ncron = "61 * * * *"\naction = "restart"\n')
    with run_vsmanager(simulator_command(*QUIET), schedules_file=path) as vsm:
        assert schedule(vsm, "x")["error"]["field"] == "cron"


def test_the_api_adds_changes_and_removes_schedules_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "schedules.toml"
    with run_vsmanager(simulator_command(*QUIET), schedules_file=path) as vsm, vsm.client() as client:
        nightly = {"name": "nightly", "cron": "0 4 * * *", "timezone": "Europe/Berlin", "action": "restart",
                   "warn": ["15m", "5m", "1m"], "when_players": "wait", "max_wait": "1h"}
        added = client.post("/schedules", json=nightly)
        assert added.status_code == 201, added.text
        assert added.json()["next"][0].endswith(("+01:00", "+02:00"))
        assert "T04:00:00" in added.json()["next"][0]
        assert client.post("/schedules", json=nightly).status_code == 409
        assert 'name = "nightly"' in path.read_text()
        bad = client.put("/schedules/nightly", json={**nightly, "warn": ["soon"]})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "warn"
        changed = client.put("/schedules/nightly", json={**nightly, "cron": "30 3 * * *"})
        assert changed.status_code == 200 and "T03:30:00" in changed.json()["next"][0]
        with vsm.client(MONITOR_KEY) as monitor:
            assert monitor.get("/schedules/nightly").status_code == 200
            assert monitor.delete("/schedules/nightly").status_code == 403
            assert monitor.post("/schedules", json=nightly).status_code == 403
        assert client.delete("/schedules/nightly").status_code == 204
        assert client.get("/schedules/nightly").status_code == 404
        assert "nightly" not in path.read_text()


@pytest.mark.parametrize(("cron", "zone", "first"), [
    ("30 2 * * *", "Europe/Berlin", "T02:30:00+0"),
    ("0 4 * * *", "America/New_York", "T04:00:00-0"),
])
def test_the_preview_reads_the_zone(tmp_path: Path, cron: str, zone: str, first: str) -> None:
    with run_vsmanager(simulator_command(*QUIET), autostart=False, schedules_file=tmp_path / "s.toml") as vsm, \
            vsm.client() as client:
        answer = client.post("/schedules/preview", json={"cron": cron, "timezone": zone, "action": "start"})
        assert answer.status_code == 200
        assert len(answer.json()["next"]) == 5 and first in answer.json()["next"][0]
        bad = client.post("/schedules/preview", json={"cron": "nope", "action": "start"})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "cron"
