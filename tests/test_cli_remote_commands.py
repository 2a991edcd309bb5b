"""``vsmanager status``, ``start|stop|restart`` and ``send`` against a real vsmanager."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import (
    ADMIN_KEY,
    MONITOR_KEY,
    VsManager,
    free_port,
    python_command,
    run_vsmanager,
    simulator_command,
)
from test_cli_remote_console import Cli


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> Cli:
    return Cli(capsys, monkeypatch, tmp_path)


def test_status_prints_a_table(vsm: VsManager, cli: Cli) -> None:
    code, out, err = cli(vsm.url, "status")
    assert (code, err) == (0, "")
    rows = dict(line.split(None, 1) for line in out.splitlines() if not line.startswith(
        ("started at", "exit code")))
    assert rows["state"] == "running"
    assert rows["pid"] == str(vsm.status()["pid"])
    assert rows["vsmanager"] == vsm.url


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
        assert out == "server stopping\n"
        assert "still stopping after 1 s" in err


def test_start_that_crashes_exits_1(cli: Cli) -> None:
    crashing = python_command("-c", "import sys; print('boom'); sys.exit(3)")
    with run_vsmanager(crashing, autostart=False) as vsm:
        code, out, err = cli(vsm.url, "start", "--timeout", "10")
        assert code == 1
        assert out == "server crashed (exit code 3)\n"
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
