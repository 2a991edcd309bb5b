"""Notifications from a real vsmanager with the simulated game to a real receiver on
loopback, with short retry settings."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import httpx

from harness import MONITOR_KEY, TIME_SCALE, VsManager, run_vsmanager, simulator_command
from webhook_receiver import run_receiver

QUIET = ("--event-interval", "3600")
TOKEN = "tok-9f8e7d6c5b4a-secret"
SECRET = "shared-secret-for-the-hook"
FAST = {"notify_retry_delay": "0.3", "notify_retry_max_delay": "2", "notify_retry_for": "20"}


def targets(path: Path, *items: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"notifications": list(items)}))
    return path


def listed(vsm: VsManager, name: str) -> dict[str, Any]:
    with vsm.client(MONITOR_KEY) as client:
        found = [t for t in client.get("/notifications").json()["targets"] if t["name"] == name]
    assert found, name
    return found[0]


def send_test(vsm: VsManager, name: str) -> None:
    with vsm.client() as client:
        answer = client.post(f"/notifications/{name}/test")
        assert answer.status_code == 202, answer.text


def test_a_crash_sends_one_discord_message_with_the_exit_code_and_last_lines(tmp_path: Path) -> None:
    with run_receiver() as receiver:
        path = targets(tmp_path / "n.json", {"name": "discord", "kind": "discord",
                                             "url": receiver.url(f"/api/webhooks/1/{TOKEN}")})
        command = simulator_command(*QUIET, "--crash-after", "1", "--crash-code", "3")
        with run_vsmanager(command, notifications_file=path, server_restart="never") as vsm:
            crashed = vsm.wait_for_state("crashed")
            message = receiver.wait(f"/api/webhooks/1/{TOKEN}")[0]
            assert message.at - time.time() < 5 * TIME_SCALE
            body = message.json
            assert "exit code 3" in body["content"] and crashed["exit_code"] == 3
            fields = {f["name"]: f["value"] for f in body["embeds"][0]["fields"]}
            assert fields["exit code"] == "3" and fields["run"] == "1"
            assert fields["last lines"].count("\n") >= 3
            time.sleep(1)
            assert len(receiver.at(f"/api/webhooks/1/{TOKEN}")) == 1  # one message, not one per event
            assert TOKEN not in vsm.log_text()
            shown = listed(vsm, "discord")
            assert TOKEN not in json.dumps(shown) and shown["last"]["delivered"] is True


def test_retries_on_500_keep_the_order_and_the_signature_verifies(tmp_path: Path) -> None:
    with run_receiver() as receiver:
        hook = f"/hook/{TOKEN}"
        receiver.on(hook, 500, 503)
        (tmp_path / "secret").write_text(SECRET)
        path = targets(tmp_path / "n.toml.json", {"name": "ops", "kind": "webhook", "url": receiver.url(hook),
                                                  "secret_file": "secret", "events": ["*"]})
        with run_vsmanager(simulator_command(*QUIET), autostart=False, notifications_file=path, **FAST) as vsm:
            # vsmanager_started is the first message: it fails twice, then arrives; the test
            # messages queued behind it wait their turn.
            send_test(vsm, "ops")
            send_test(vsm, "ops")
            got = receiver.wait(hook, 4)[:4]
            events = [r.json["event"] for r in got]
            assert events == ["vsmanager_started"] * 3 + ["test"], events
            assert 0.2 < got[1].at - got[0].at < 0.3 + TIME_SCALE
            assert 0.5 < got[2].at - got[1].at < 0.6 + TIME_SCALE  # doubled
            receiver.wait(hook, 5)
            for message in got:
                stamp = message.headers["X-Vsmanager-Timestamp"]
                mac = hmac.new(SECRET.encode(), stamp.encode() + b"." + message.body, hashlib.sha256)
                assert message.headers["X-Vsmanager-Signature"] == f"sha256={mac.hexdigest()}"
            log = vsm.log_text()
            assert TOKEN not in log and SECRET not in log
            with vsm.client(MONITOR_KEY) as monitor:
                assert monitor.post("/notifications/ops/test").status_code == 403
                text = monitor.get("/notifications").text
            assert TOKEN not in text and SECRET not in text


def test_429_waits_for_retry_after_and_404_is_not_retried(tmp_path: Path) -> None:
    with run_receiver() as receiver:
        receiver.on("/slow", (429, {"Retry-After": "1"}))
        receiver.on("/gone", 404)
        path = targets(tmp_path / "n.json",
                       {"name": "slow", "kind": "slack", "url": receiver.url("/slow"), "events": ["ready"]},
                       {"name": "gone", "kind": "webhook", "url": receiver.url("/gone"), "events": ["ready"]})
        with run_vsmanager(simulator_command(*QUIET), notifications_file=path, **FAST) as vsm:
            slow = receiver.wait("/slow", 2)
            assert 1.0 <= slow[1].at - slow[0].at < 1.0 + TIME_SCALE
            assert "ready" in slow[1].json["text"].lower()
            receiver.wait("/gone")
            time.sleep(1.5)
            assert len(receiver.at("/gone")) == 1
            gone = listed(vsm, "gone")
            assert gone["gave_up"] == 1 and gone["last"]["error"] == "HTTP 404: not retried"
            assert "notification_given_up" in vsm.log_text()
            metrics = httpx.get(f"{vsm.url}/metrics", headers={"X-API-Key": vsm.admin_key}, timeout=10).text
            assert 'vsmanager_notifications_given_up_total{target="gone"} 1.0' in metrics
            assert 'vsmanager_notifications_delivered_total{target="slow"} 1.0' in metrics


def test_schedule_runs_and_warnings_are_told(tmp_path: Path) -> None:
    with run_receiver() as receiver:
        path = targets(tmp_path / "n.json", {"name": "ops", "kind": "webhook", "url": receiver.url("/h"),
                                             "events": ["schedule_warning", "schedule_run"]})
        schedules = tmp_path / "s.json"
        schedules.write_text(json.dumps({"schedules": [
            {"name": "save", "every": "3s", "action": "command", "commands": ["/autosavenow"]}]}))
        with run_vsmanager(simulator_command(*QUIET), notifications_file=path, schedules_file=schedules):
            run = receiver.wait("/h")[0].json
            assert run["event"] == "schedule_run" and run["data"]["schedule"] == "save"


def test_console_matches_are_told_once_a_minute(tmp_path: Path) -> None:
    with run_receiver() as receiver:
        path = targets(tmp_path / "n.json", {"name": "ops", "kind": "webhook", "url": receiver.url("/h"),
                                             "events": ["console_match"],
                                             "match": [{"name": "stats", "pattern": "Players online"}]})
        with run_vsmanager(simulator_command(*QUIET), notifications_file=path) as vsm, vsm.client() as client:
            vsm.wait_for_state("running")
            for _ in range(3):
                client.post("/console/command", json={"command": "/stats"})
            match = receiver.wait("/h")[0].json
            assert match["data"]["rule"] == "stats" and "Players online" in match["data"]["line"]
            time.sleep(1)
            assert len(receiver.at("/h")) == 1


def test_restarts_after_a_crash_and_giving_up_are_told(tmp_path: Path) -> None:
    with run_receiver() as receiver:
        path = targets(tmp_path / "n.json", {"name": "ops", "kind": "webhook", "url": receiver.url("/h"),
                                             "events": ["started", "crashed", "restarting", "gave_up"]})
        command = simulator_command(*QUIET, "--crash-after", "0.5", "--crash-code", "2")
        with run_vsmanager(command, notifications_file=path, server_restart_delay="0.5",
                           server_restart_limit="2"):
            got = receiver.wait("/h", 5, timeout=40)
            events = [r.json["event"] for r in got]
            assert events[:5] == ["started", "crashed", "restarting", "started", "crashed"], events
            assert receiver.wait("/h", 6, timeout=20)[5].json["event"] == "gave_up"
            assert got[1].json["data"]["exit_code"] == 2


def test_players_joining_and_leaving_are_told_only_when_named(tmp_path: Path) -> None:
    with run_receiver() as receiver:
        path = targets(tmp_path / "n.json",
                       {"name": "players", "kind": "webhook", "url": receiver.url("/p"),
                        "events": ["player_joined", "player_left"]},
                       {"name": "all", "kind": "webhook", "url": receiver.url("/all"), "events": ["*"]})
        with run_vsmanager(simulator_command(*QUIET, "--players", "1"), notifications_file=path) as vsm:
            joined = receiver.wait("/p")[0].json
            assert joined["event"] == "player_joined"
            with vsm.client() as client:
                client.post("/console/command", json={"command": f"/kick {joined['data']['player']}"})
            assert receiver.wait("/p", 2)[1].json["event"] == "player_left"
            assert not [r for r in receiver.at("/all") if r.json["event"].startswith("player_")]
