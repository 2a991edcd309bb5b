"""``vsmanager status``, ``start|stop|restart`` and ``send`` against a real vsmanager."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import pexpect
import pytest
from test_cli_remote_console import TIMEOUT, Cli

from harness import (
    ADMIN_KEY,
    MONITOR_KEY,
    VsManager,
    free_port,
    python_command,
    run_vsmanager,
    simulator_command,
)
from recording_proxy import RecordingProxy


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> Cli:
    return Cli(capsys, monkeypatch, tmp_path)


def table_rows(out: str) -> dict[str, str]:
    """``label  value`` rows (labels are at most 11 characters, values start at column 12)."""
    return {line[:11].strip(): line[12:] for line in out.splitlines()}


def test_status_prints_a_table(vsm: VsManager, cli: Cli) -> None:
    code, out, err = cli(vsm.url, "status")
    assert (code, err) == (0, "")
    rows = table_rows(out)
    assert rows["state"] == "running"
    assert rows["pid"] == str(vsm.status()["pid"])
    assert rows["uptime"].endswith("s")
    assert rows["vsmanager"] == vsm.url


def test_status_shows_every_fact_the_server_sends(vsm: VsManager, cli: Cli) -> None:
    with vsm.client() as client:
        client.post("/console/command", json={"command": "/stats"}).raise_for_status()
    vsm.wait_for_line("Players online")
    status = vsm.status()
    code, out, _ = cli(vsm.url, "status")
    assert code == 0
    rows = table_rows(out)
    if status.get("run") is not None:
        assert rows["run"].startswith(f"{status['run']}, started ")
    if "restart_policy" in status:
        assert rows["restart"] == "on crash"
    game = status.get("game")
    if isinstance(game, dict):
        if game["version"] is not None:
            assert rows["version"].startswith(str(game["version"]))
        assert re.match(r"\d+ of 16", rows["players"])  # /stats told the maximum
    with vsm.client() as client:
        metrics = client.get("/server/metrics")
    if metrics.status_code == 200 and metrics.json()["samples"]:
        assert rows["game cpu"].endswith("% of one core")
        assert "RSS" in rows["game memory"]
    else:
        assert "game cpu" not in rows  # an older vsmanager: the row is left out


def test_status_of_an_older_vsmanager_leaves_the_resource_rows_out(
    vsm: VsManager, cli: Cli
) -> None:
    with RecordingProxy(vsm.port, hide=("/api/v1alpha1/server/metrics",)) as older:
        code, out, err = cli(older.url, "status")
    assert (code, err) == (0, "")
    rows = table_rows(out)
    assert rows["state"] == "running"
    assert "game cpu" not in rows and "game memory" not in rows


CRASHING = python_command("-c", "import sys; print('boom', flush=True); sys.exit(3)")


def test_status_of_a_crashed_server_says_how_and_when_it_restarts(cli: Cli) -> None:
    with run_vsmanager(CRASHING, server_ready_pattern="", server_restart_delay=60) as vsm:
        vsm.wait_for_state("crashed")
        code, out, _ = cli(vsm.url, "status")
    assert code == 0
    rows = table_rows(out)
    assert rows["state"] == "crashed (exit code 3)"
    assert re.fullmatch(r"1, crashed with code 3 at \S+Z after \d+s", rows["last run"])
    due = re.fullmatch(r"next in (\d+) s \(1 crash lately\)", rows["restart"])
    assert due and 30 < int(due.group(1)) <= 60, rows["restart"]  # counts down from 60 s


def test_status_says_when_the_restarts_gave_up(cli: Cli) -> None:
    with run_vsmanager(CRASHING, server_ready_pattern="", server_restart_delay=0.2,
                       server_restart_limit=2) as vsm:
        deadline = time.monotonic() + TIMEOUT
        while not vsm.status().get("gave_up"):
            assert time.monotonic() < deadline, f"never gave up: {vsm.status()}"
            time.sleep(0.05)
        code, out, _ = cli(vsm.url, "status")
        assert code == 0
        assert table_rows(out)["restart"] == "gave up after 2 crashes: start it by hand"
        code, out, err = cli(vsm.url, "console", "--previous", "--streams", "stdout")
        assert (code, out) == (0, "boom\n")
        assert "run 1, " in err and "crashed with code 3" in err


def test_status_watch_json_prints_one_object_per_refresh(vsm: VsManager, cli: Cli) -> None:
    code, out, _ = cli(vsm.url, "status", "--watch", "0.5", "--count", "2", "--json")
    assert code == 0
    objects = [json.loads(line) for line in out.splitlines()]
    assert [o["state"] for o in objects] == ["running", "running"]


def test_status_watch_refreshes_in_place_and_ctrl_c_exits_130(vsm: VsManager) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VS_")}
    env.update(VS_URL=vsm.url, VS_API_KEY=MONITOR_KEY, TERM="xterm")
    child = pexpect.spawn(sys.executable, ["-m", "vsmanager", "status", "--watch", "0.5"],
                          env=env, timeout=TIMEOUT, encoding="utf-8", dimensions=(30, 100))
    try:
        child.expect("every 0.5 s, Ctrl\\+C leaves")
        child.expect("vsmanager   http")
        # The next block is drawn over this one: the cursor moves back up first.
        child.expect(re.escape("\x1b[") + r"\d+F" + re.escape("every 0.5 s"))
        child.expect("state       running")
        child.sendintr()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 130


def test_status_watch_that_cannot_reach_vsmanager_keeps_trying(cli: Cli) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, out, _ = cli(url, "status", "--watch", "0.5", "--count", "2")
    assert code == 4
    assert out.count("cannot reach vsmanager") == 2  # each refresh says so, in the block


@pytest.mark.parametrize("seconds", ["0.1", "7200", "soon"])
def test_status_watch_interval_is_bounded(cli: Cli, seconds: str) -> None:
    with pytest.raises(SystemExit) as exited:
        cli("http://127.0.0.1:9", "status", "--watch", seconds)
    assert exited.value.code == 2


def test_status_json_works_with_the_monitor_key(vsm: VsManager, cli: Cli) -> None:
    code, out, _ = cli(vsm.url, "status", "--json", key=MONITOR_KEY)
    assert code == 0
    status = json.loads(out)
    assert status["state"] == "running"
    assert set(status) >= {"state", "pid", "uptime_s", "exit_code", "started_at", "restarts", "console_id"}


def test_stop_start_restart_wait_for_the_new_state(vsm: VsManager, cli: Cli) -> None:
    code, out, _ = cli(vsm.url, "stop")
    assert (code, out) == (0, "server stopped\n")
    assert vsm.status()["state"] == "stopped"

    code, out, _ = cli(vsm.url, "start")
    assert code == 0 and out.startswith("server running (pid ")
    pid = vsm.status()["pid"]

    code, out, _ = cli(vsm.url, "restart", "--json")
    assert code == 0
    status = json.loads(out)
    assert status["state"] == "running" and status["pid"] != pid
    assert status["restarts"] == 2


def test_no_wait_returns_at_once(vsm: VsManager, cli: Cli) -> None:
    code, out, _ = cli(vsm.url, "stop", "--no-wait", "--json")
    assert code == 0
    assert json.loads(out)["state"] in ("stopping", "stopped")
    vsm.wait_for_state("stopped")


def test_start_when_running_exits_5(vsm: VsManager, cli: Cli) -> None:
    code, out, err = cli(vsm.url, "start")
    assert (code, out) == (5, "")
    assert "already_running" in err


def test_stop_that_outlasts_the_timeout_exits_6(cli: Cli) -> None:
    with run_vsmanager(simulator_command("--ignore-stop")) as vsm:
        vsm.wait_for_state("running")
        code, out, err = cli(vsm.url, "stop", "--timeout", "1")
        assert code == 6
        assert out.startswith("server stopping (pid ")
        assert "still stopping after 1 s" in err


def test_start_that_crashes_exits_1(cli: Cli) -> None:
    crashing = python_command("-c", "import sys; print('boom'); sys.exit(3)")
    with run_vsmanager(crashing, autostart=False) as vsm:
        code, out, err = cli(vsm.url, "start", "--timeout", "10")
        assert code == 1
        assert out.startswith("server crashed (exit code 3)")  # then the restart policy's word
        assert "crashed, not running" in err


def test_monitor_key_cannot_stop_the_server(vsm: VsManager, cli: Cli) -> None:
    code, _, err = cli(vsm.url, "stop", key=MONITOR_KEY)
    assert code == 3 and "admin" in err
    assert vsm.status()["state"] == "running"


def test_send_prints_the_answer_that_follows(vsm: VsManager, cli: Cli) -> None:
    code, out, err = cli(vsm.url, "send", "/announce hello there", "--wait", "2")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert "[CMD] /announce hello there" not in lines  # the answer, not the echo
    assert any(line.endswith("[Server Chat] Server: hello there") for line in lines)


def test_send_json_and_no_wait(vsm: VsManager, cli: Cli) -> None:
    code, out, _ = cli(vsm.url, "send", "/help", "--json", "--wait", "2")
    assert code == 0
    answer = [json.loads(line) for line in out.splitlines()]
    echo = vsm.wait_for_line("/help")
    assert answer[0]["seq"] == int(echo["seq"]) + 1  # type: ignore[call-overload]
    assert any("Available commands" in line["text"] for line in answer)
    code, out, _ = cli(vsm.url, "send", "/time", "--wait", "0")
    assert (code, out) == (0, "")
    vsm.wait_for_line("Server time is")


def test_send_to_a_stopped_server_exits_5(cli: Cli) -> None:
    with run_vsmanager(autostart=False) as vsm:
        code, _, err = cli(vsm.url, "send", "/help")
        assert code == 5 and "server_not_running" in err


@pytest.mark.parametrize("command", ["/say a\n/stop", "   ", "x" * 1001])
def test_send_refuses_what_is_not_one_command_with_2(cli: Cli, command: str) -> None:
    code, _, err = cli("http://127.0.0.1:9", "send", command)
    assert code == 2 and "not sent" in err


def test_one_shot_commands_unreachable_exit_4(cli: Cli) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    for args in (["status"], ["stop"], ["send", "/help"]):
        code, _, err = cli(url, *args)
        assert code == 4 and "cannot reach" in err


def test_key_file_is_used_and_never_needed_on_the_command_line(
    vsm: VsManager, cli: Cli, tmp_path: Path
) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(ADMIN_KEY + "\n")
    key_file.chmod(0o600)
    code, out, err = cli(vsm.url, "status", "--api-key-file", str(key_file), key=None)
    assert (code, err) == (0, "")
    assert "running" in out
