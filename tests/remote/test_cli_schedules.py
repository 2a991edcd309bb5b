"""``vsmanager schedule …`` and ``vsmanager notify …`` against a real vsmanager."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from test_cli_remote_console import Cli

from harness import MONITOR_KEY, TIME_SCALE, run_vsmanager, simulator_command
from webhook_receiver import run_receiver

QUIET = ("--event-interval", "3600")


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    return Cli(capsys, monkeypatch, tmp_path)


def test_an_admin_sets_up_a_nightly_restart_from_the_cli(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "schedules.toml"
    with run_vsmanager(simulator_command(*QUIET), schedules_file=path) as vsm:
        code, out, err = cli(vsm.url, "schedule", "add", "nightly", "--cron", "0 4 * * *",
                             "--timezone", "Europe/Berlin", "--action", "restart", "--warn", "15m,5m,1m",
                             "--when-players", "wait", "--max-wait", "1h")
        assert (code, err) == (0, ""), err
        assert "next: " in out and "T04:00:00+0" in out
        assert 'warn = [\n    "15m",' in path.read_text() or '"15m"' in path.read_text()
        code, out, _ = cli(vsm.url, "schedule", "list")
        assert code == 0 and "nightly" in out and "cron 0 4 * * * Europe/Berlin" in out
        code, out, _ = cli(vsm.url, "schedule", "list", key=MONITOR_KEY)
        assert code == 0 and "nightly" in out
        code, _, err = cli(vsm.url, "schedule", "remove", "nightly", key=MONITOR_KEY)
        assert code == 3 and "admin" in err
        code, _, err = cli(vsm.url, "schedule", "add", "bad", "--every", "soon", "--action", "start")
        assert code != 0 and "every" in err
        assert cli(vsm.url, "schedule", "pause", "nightly")[1].count("paused: True") == 1
        assert cli(vsm.url, "schedule", "resume", "nightly")[0] == 0
        code, out, _ = cli(vsm.url, "schedule", "show", "nightly", "--json")
        assert json.loads(out)["when_players"] == "wait"
        assert cli(vsm.url, "schedule", "remove", "nightly")[0] == 0
        assert "nightly" not in path.read_text()
        code, _, err = cli(vsm.url, "schedule", "show", "nightly")
        assert code != 0 and "no schedule" in err


def test_run_and_skip_from_the_cli(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "schedules.json"
    path.write_text(json.dumps({"schedules": [
        {"name": "nightly", "every": "1h", "action": "restart", "warn": ["59m"]},
        {"name": "save", "every": "1h", "action": "command", "commands": ["/autosavenow"]}]}))
    with run_vsmanager(simulator_command(*QUIET), schedules_file=path) as vsm:
        vsm.wait_for_state("running")
        code, out, _ = cli(vsm.url, "schedule", "run", "save")
        assert code == 0 and "running now" in out
        vsm.wait_for_line("schedule save: ok")
        code, _, err = cli(vsm.url, "schedule", "skip", "save")
        assert code == 5 and "no countdown" in err


def test_notify_list_and_test_from_the_cli(cli: Cli, tmp_path: Path) -> None:
    with run_receiver() as receiver:
        path = tmp_path / "notifications.toml"
        path.write_text(f'[[notifications]]\nname = "discord"\nkind = "discord"\n'
                        f'url = "{receiver.url("/api/webhooks/1/secret-token-abc")}"\n')
        with run_vsmanager(simulator_command(*QUIET), autostart=False, notifications_file=path) as vsm:
            code, out, _ = cli(vsm.url, "notify", "test", "discord")
            assert code == 0
            message = receiver.wait("/api/webhooks/1/secret-token-abc")[0]
            assert "Test" in message.json["content"]
            deadline = time.monotonic() + 10 * TIME_SCALE
            while True:
                code, out, _ = cli(vsm.url, "notify", "list")
                if "delivered" in out or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert "discord  discord  http://127.0.0.1:" in out and "test delivered" in out
            assert "secret-token-abc" not in out
            assert cli(vsm.url, "notify", "test", "nope")[0] != 0
