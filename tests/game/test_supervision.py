"""Faults a real vsmanager must survive, each with real processes and real sockets: one game,
never two, never orphaned; only fds 0-2; start-up faults; the restart policy over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from harness import (
    ADMIN_KEY,
    MONITOR_KEY,
    TIME_SCALE,
    VsManager,
    python_command,
    run_vsmanager,
    script_command,
    stop_process,
)

READY = "Dedicated Server now running on Port 42420 and all ips!"


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout * TIME_SCALE
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in time: {what}")
        time.sleep(0.05)


def system_lines(vsm: VsManager) -> list[str]:
    lines = vsm.history(lines=10_000)["lines"]
    return [line["text"] for line in lines if line["stream"] == "system"]  # type: ignore[attr-defined]


# -- the port ------------------------------------------------------------------------------


def test_a_port_in_use_is_refused_before_the_game_starts(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    game = python_command("-c", f"open({str(marker)!r}, 'w').close(); import time; time.sleep(30)")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("VS_")}
        env.update(VS_API_KEY_ADMIN=ADMIN_KEY, VS_API_KEY_MONITOR=MONITOR_KEY,
                   VS_SERVER_COMMAND=game, VS_SERVER_AUTOSTART="true",
                   VS_SERVER_WORKDIR=str(tmp_path))
        process = subprocess.Popen(
            [sys.executable, "-m", "vsmanager", "serve", "--port", str(port)], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            out, _ = process.communicate(timeout=20 * TIME_SCALE)
        finally:
            stop_process(process)
    assert process.returncode != 0
    text = out.decode(errors="replace")
    assert "cannot_listen" in text and "Address already in use" in text, text
    assert not marker.exists()  # the game never ran


# -- the instance lock and the supervisor of last resort --------------------------------------


def test_a_second_vsmanager_refuses_to_start_its_game_and_says_why(tmp_path: Path) -> None:
    game = script_command("slow_saver.py", str(tmp_path / "runs.log"), "0")
    with run_vsmanager(game, server_workdir=tmp_path) as first:
        first.wait_for_state("running")
        with run_vsmanager(game, server_workdir=tmp_path, autostart=False) as second:
            with second.client() as client:
                refused = client.post("/server/start")
            assert refused.status_code == 409 and refused.json()["code"] == "instance_locked"
            assert f"locked by vsmanager pid {first.process.pid}" in refused.json()["message"]
            assert any("server not started" in t and ".vsmanager.lock" in t
                       for t in system_lines(second))
            assert second.status()["state"] == "stopped"
        starts = (tmp_path / "runs.log").read_text().split("\n")
        assert sum(line.startswith("start ") for line in starts) == 1


def test_a_killed_vsmanager_never_lets_the_next_one_run_a_second_game(tmp_path: Path) -> None:
    # The game needs 5 s to save after SIGTERM. The next vsmanager, already up (as systemd
    # would have it a moment later), is refused while the old game saves, and starts its
    # game only once the old one is gone.
    runs_log = tmp_path / "runs.log"
    game = script_command("slow_saver.py", str(runs_log), "5")
    with run_vsmanager(game, server_workdir=tmp_path, server_kill_timeout=10) as first, \
            run_vsmanager(game, server_workdir=tmp_path, autostart=False) as second:
        first.wait_for_state("running")
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait(10 * TIME_SCALE)
        with second.client() as client:
            refused = client.post("/server/start")
            assert refused.status_code == 409, refused.text
            assert refused.json()["code"] == "instance_locked"
            wait_for(lambda: client.post("/server/start").status_code == 202, 20, "the lock freed")
            second.wait_for_state("running")
            stop = client.post("/server/stop", params={"wait": 20})
            assert stop.json()["state"] == "stopped"
    events = [line.split() for line in runs_log.read_text().splitlines()]
    times = {(word, int(pid)): float(t) for word, pid, t in events}
    (first_pid, second_pid) = [int(pid) for word, pid, _ in events if word == "start"]
    # The first game ended (saved) before the second began: never two on one world.
    assert times[("end", first_pid)] <= times[("start", second_pid)]


def test_a_killed_vsmanager_ends_a_game_that_ignores_sigterm_and_its_group(tmp_path: Path) -> None:
    runs_log = tmp_path / "runs.log"
    game = script_command("slow_saver.py", str(runs_log), "0", "--ignore-term")
    with run_vsmanager(game, server_workdir=tmp_path, server_kill_timeout=1) as vsm:
        pid = int(vsm.wait_for_state("running")["pid"])  # type: ignore[arg-type]
        wait_for(lambda: "child" in runs_log.read_text(), 10, "the game's child")
        child = int(runs_log.read_text().split("child ")[1].split()[0])
        os.kill(vsm.process.pid, signal.SIGKILL)
        vsm.process.wait(10 * TIME_SCALE)
        # The last resort: /stop (the game goes, its child stays), SIGTERM after the stop
        # timeout (ignored), SIGKILL to the group 1 s later.
        wait_for(lambda: not alive(pid) and not alive(child), 15, "the game and its child gone")


# -- the game's file descriptors -------------------------------------------------------------


def test_the_game_gets_only_fds_0_1_2() -> None:
    game = python_command("-c", f"import sys; print({READY!r}, flush=True); sys.stdin.readline()")
    with run_vsmanager(game) as vsm:
        pid = int(vsm.wait_for_state("running")["pid"])  # type: ignore[arg-type]
        assert sorted(os.listdir(f"/proc/{pid}/fd"), key=int) == ["0", "1", "2"]


def test_a_game_that_closes_stdin_refuses_commands_at_once() -> None:
    code = f"import os, time; os.close(0); print({READY!r}, flush=True); time.sleep(60)"
    with run_vsmanager(python_command("-c", code), server_stop_command="") as vsm:
        vsm.wait_for_state("running")
        with vsm.client() as client:
            started = time.monotonic()
            answer = client.post("/console/command", json={"command": "/help"})
        assert answer.status_code == 409, answer.text
        assert answer.json()["code"] == "server_not_running"
        assert time.monotonic() - started < 2 * TIME_SCALE
        # And stop does not wait for a stop command nobody can read: straight to SIGTERM.
        with vsm.client() as client:
            stopped = client.post("/server/stop", params={"wait": 10}).json()
        assert stopped["state"] == "stopped"


# -- start-up faults ---------------------------------------------------------------------------


@pytest.fixture(params=["missing", "not-executable"])
def unstartable(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    if request.param == "missing":
        return str(tmp_path / "no-such-game"), "does not exist"
    path = tmp_path / "game.sh"
    path.write_text("#!/bin/sh\necho hello\n")
    path.chmod(0o644)
    return str(path), "is not executable"


def test_an_unstartable_game_is_a_clear_line_and_crashed_never_a_vsmanager_crash(
    unstartable: tuple[str, str],
) -> None:
    program, why = unstartable
    with run_vsmanager(program) as vsm:
        status = vsm.wait_for_state("crashed")
        assert status["pid"] is None and status["run"] is None
        assert any(t.startswith("server failed to start: ") and why in t for t in system_lines(vsm))
        assert "KeyError" not in vsm.log_text()
        with vsm.client() as client:
            for action in ("start", "restart"):
                answer = client.post(f"/server/{action}")
                assert answer.status_code == 503, (action, answer.text)
                assert answer.json()["code"] == "start_failed"
                assert why in answer.json()["message"]
        assert vsm.process.poll() is None


def test_a_ready_line_that_never_comes_is_a_warning_naming_the_pattern() -> None:
    game = python_command("-c", "import sys; print('loading forever', flush=True); sys.stdin.readline()")
    with run_vsmanager(game, server_ready_timeout=0.5) as vsm:
        line = vsm.wait_for_line("warning: no line matching")
        assert "'Dedicated Server now running on Port'" in line["text"]  # type: ignore[operator]
        assert "VS_SERVER_READY_TIMEOUT" in line["text"]  # type: ignore[operator]
        assert vsm.status()["state"] == "starting"


# -- the restart policy and runs, over HTTP -------------------------------------------------------


def test_crashes_are_restarted_then_given_up_and_each_run_can_be_read() -> None:
    crashing = python_command("-c", f"print({READY!r}, flush=True); print('boom', flush=True); "
                                    "import sys; sys.exit(3)")
    with run_vsmanager(crashing, server_restart_delay=0.2, server_restart_window=30,
                       server_restart_limit=3) as vsm:
        wait_for(lambda: vsm.status()["gave_up"], 20, "giving up")
        status = vsm.status()
        assert status["state"] == "crashed" and status["crashes"] == 3
        assert status["next_restart_at"] is None and status["run"] == 3
        assert status["last_run"]["outcome"] == "crashed"  # type: ignore[index]
        assert status["last_run"]["exit_code"] == 3  # type: ignore[index]
        system = system_lines(vsm)
        assert "server exited with code 3; restarting in 0.2 s, crash 1 of 3 in 30 s" in system
        assert "server exited with code 3; restarting in 0.4 s, crash 2 of 3 in 30 s" in system
        assert "server exited with code 3; crashed 3 times in 30 s: not restarting; start it by hand" \
            in system
        with vsm.client() as client:
            listed = client.get("/console/runs").json()
            assert listed["console_id"] == status["console_id"]
            runs = listed["runs"]
            assert [r["run"] for r in runs] == [1, 2, 3]
            assert all(r["outcome"] == "crashed" and r["exit_code"] == 3 for r in runs)
            second = client.get("/console/history", params={"run": 2}).json()
            assert second["console_id"] == status["console_id"]
            seqs = [line["seq"] for line in second["lines"]]
            assert seqs == list(range(runs[1]["first_seq"], runs[1]["last_seq"] + 1))
            texts = [line["text"] for line in second["lines"]]
            assert texts[0].startswith("server started (pid ") and texts[0].endswith(", run 2)")
            assert "boom" in texts and texts[-1].startswith("server exited with code 3")
            paged = client.get("/console/history",
                               params={"run": 2, "after": runs[1]["first_seq"], "limit": 1}).json()
            assert [line["seq"] for line in paged["lines"]] == [runs[1]["first_seq"] + 1]
            missing = client.get("/console/history", params={"run": 9})
            assert missing.status_code == 404 and missing.json()["code"] == "run_not_found"
            # A start by hand starts the count afresh.
            started = client.post("/server/start").json()
            assert started["gave_up"] is False and started["crashes"] == 0
            wait_for(lambda: (vsm.status()["last_run"] or {})["run"] >= 4, 20, "run 4 ended")  # type: ignore[index]
            fourth = client.get("/console/history", params={"run": 4}).json()["lines"]
            assert fourth[-1]["text"].endswith("restarting in 0.2 s, crash 1 of 3 in 30 s")


def test_a_stop_cancels_a_pending_restart() -> None:
    crashing = python_command("-c", f"print({READY!r}, flush=True); import sys; sys.exit(1)")
    with run_vsmanager(crashing, server_restart_delay=30) as vsm:
        wait_for(lambda: vsm.status()["next_restart_at"] is not None, 20, "a pending restart")
        with vsm.client() as client:
            answer = client.post("/server/stop")
        assert answer.status_code == 202, answer.text
        status = answer.json()
        assert status["next_restart_at"] is None and status["crashes"] == 0
        assert "automatic restart cancelled by admin" in system_lines(vsm)


def test_runs_needs_the_admin_key(vsm: VsManager) -> None:
    with httpx.Client(base_url=vsm.api, headers={"X-API-Key": MONITOR_KEY}) as client:
        assert client.get("/console/runs").status_code == 403
