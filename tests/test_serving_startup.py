"""What a person at the terminal sees while ``vsmanager serve`` starts and stops: the address
line, the lock warning, and Ctrl+C (once: stopped within a second or two even while the game
starts; twice: at once, quietly; during the imports: no traceback). Real processes, real
signals; the timings are asserted loosely and printed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import (
    TIME_SCALE,
    free_port,
    python_command,
    run_vsmanager,
    simulator_command,
    stop_process,
)

ADDRESS_LINE = re.compile(
    r"vsmanager listening on (http://127\.0\.0\.1:(\d+)) \(web console, API docs at /docs\)")
# A game that ignores SIGTERM and never gets to read its console: only SIGKILL ends it.
STUBBORN_GAME = python_command(
    "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('Server logger started.', flush=True); time.sleep(600)")


def wait_for(predicate: object, timeout: float, what: str) -> float:
    """Poll until ``predicate()`` is true; the moment it was (time.monotonic())."""
    deadline = time.monotonic() + timeout * TIME_SCALE
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return time.monotonic()
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def exit_time(process: subprocess.Popen[bytes], timeout: float) -> float:
    process.wait(timeout * TIME_SCALE)
    return time.monotonic()


def game_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is gone for our purpose
        return stat.read().rsplit(")", 1)[1].split()[0] == "Z"


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_serve_writes_its_address_once_it_listens(log_format: str) -> None:
    with run_vsmanager(log_format=log_format) as vsm:
        # run_vsmanager returns once /readyz answers: the line must be there within a second.
        ready = time.monotonic()
        seen = wait_for(lambda: ADDRESS_LINE.search(vsm.log_text()), 1.0, "the address line")
        lines = [line for line in vsm.log_text().splitlines() if ADDRESS_LINE.search(line)]
    print(f"address line {max(0.0, seen - ready) * 1000:.0f} ms after /readyz answered")
    assert len(lines) == 1
    match = ADDRESS_LINE.search(lines[0])
    assert match is not None and int(match[2]) == vsm.port
    if log_format == "json":
        entry = json.loads(lines[0])
        assert entry["level"] == "info" and ADDRESS_LINE.fullmatch(entry["event"])
    else:
        assert " info vsmanager.serving vsmanager listening on " in lines[0]


def test_a_second_vsmanager_on_a_locked_folder_warns_in_its_log(tmp_path: Path) -> None:
    with run_vsmanager(server_workdir=tmp_path) as first:
        first.wait_for_state("running")
        with run_vsmanager(server_workdir=tmp_path, server_kill_timeout=1) as second:
            # Ready means listening: the warning came before, at start-up.
            log = second.log_text()
            assert second.status()["state"] == "stopped"
    # One now; another only if the lock is still held after autostart's wait for it.
    warnings = [line for line in log.splitlines() if " warning vsmanager.supervisor " in line]
    assert warnings, log
    assert "server_not_started" in warnings[0]
    assert f"locked by vsmanager pid {first.process.pid} " in warnings[0]
    assert f"holder={first.process.pid}" in warnings[0]
    assert log.index("server_not_started") < log.index("vsmanager listening on")


def test_ctrl_c_while_the_game_starts_stops_it_at_once() -> None:
    game = simulator_command("--startup-seconds", "120")
    with run_vsmanager(game, server_stop_timeout=60, server_kill_timeout=10) as vsm:
        pid = int(vsm.wait_for_state("starting")["pid"])  # type: ignore[arg-type]
        asked = time.monotonic()
        os.kill(vsm.process.pid, signal.SIGINT)
        took = exit_time(vsm.process, 10) - asked
        log = vsm.log_text()
    print(f"Ctrl+C while starting: vsmanager exited {took:.2f} s after it")
    assert vsm.process.returncode == 0
    assert took < 2.0 * TIME_SCALE  # not the 60 s stop timeout
    assert game_gone(pid)
    assert "stopping_game state=starting" in log
    assert "Traceback" not in log


def test_ctrl_c_while_a_stubborn_game_starts_kills_it_after_the_kill_timeout() -> None:
    with run_vsmanager(STUBBORN_GAME, server_stop_timeout=60, server_kill_timeout=1) as vsm:
        pid = int(vsm.wait_for_state("starting")["pid"])  # type: ignore[arg-type]
        # "starting" comes with the spawn; the game is deaf to SIGTERM only once it says so.
        vsm.wait_for_line("Server logger started.")
        asked = time.monotonic()
        os.kill(vsm.process.pid, signal.SIGINT)
        took = exit_time(vsm.process, 15) - asked
        log = vsm.log_text()
    print(f"Ctrl+C, game deaf to SIGTERM, kill timeout 1 s: exited {took:.2f} s after it")
    assert vsm.process.returncode == 0
    assert 1.0 <= took < 1.0 + 2.0 * TIME_SCALE
    assert game_gone(pid)
    assert "Traceback" not in log


def test_a_second_ctrl_c_exits_at_once_and_quietly() -> None:
    with run_vsmanager(STUBBORN_GAME, server_ready_pattern="", server_stop_timeout=3,
                       server_kill_timeout=2) as vsm:
        pid = int(vsm.wait_for_state("running")["pid"])  # type: ignore[arg-type]
        vsm.wait_for_line("Server logger started.")  # deaf to SIGTERM from here on
        os.kill(vsm.process.pid, signal.SIGINT)  # the game ignores /stop: 3 s to wait
        wait_for(lambda: "stopping_game" in vsm.log_text(), 5, "the stopping line")
        asked = time.monotonic()
        os.kill(vsm.process.pid, signal.SIGINT)
        took = exit_time(vsm.process, 5) - asked
        log = vsm.log_text()
        # Its supervisor of last resort ends the game its own way: the stop command, SIGTERM
        # after the stop timeout (3 s), SIGKILL after the kill timeout (2 s).
        gone = wait_for(lambda: game_gone(pid), 20, "the game's end") - asked
    print(f"second Ctrl+C: exited {took:.2f} s after it; the game ended {gone:.2f} s after it")
    assert vsm.process.returncode == 130
    assert took < 1.0 * TIME_SCALE
    assert "exiting_at_once" in log
    assert "Traceback" not in log and "CancelledError" not in log


def _launcher() -> list[str]:
    script = Path(sys.executable).with_name("vsmanager")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "vsmanager"]


def _catches_sigint(pid: int) -> bool:
    """Has the process a handler for SIGINT (Python's KeyboardInterrupt), per /proc?"""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    return False


def _importing(pid: int) -> bool:
    """Inside vsmanager's imports, with SIGINT left to its default: pydantic's core (which
    the command line's imports load) is mapped, and no KeyboardInterrupt handler is set yet."""
    return "pydantic_core" in Path(f"/proc/{pid}/maps").read_text() and not _catches_sigint(pid)


@pytest.mark.parametrize("phase", ["imports", "commands"])
def test_ctrl_c_during_the_imports_prints_no_traceback(phase: str, tmp_path: Path) -> None:
    """Ctrl+C in the middle of the imports (found from /proc, not by a guessed delay, so a
    loaded machine cannot move it) and once the command runs: no traceback either way."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VS_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path)
    process = subprocess.Popen(
        [*_launcher(), "demo", "--port", str(free_port())], env=env, cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        if phase == "imports":
            wait_for(lambda: _importing(process.pid), 10, "the imports")
        else:
            wait_for(lambda: _catches_sigint(process.pid) and "pydantic_core"
                     in Path(f"/proc/{process.pid}/maps").read_text(), 10, "the command to run")
        os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl+C does
        out, err = process.communicate(timeout=30 * TIME_SCALE)
    finally:
        stop_process(process)
    text = (out + err).decode(errors="replace")
    print(f"Ctrl+C during {phase}: exit {process.returncode}, {len(text.splitlines())} lines of output")
    assert process.returncode in (0, 130, -signal.SIGINT), text
    assert "Traceback" not in text and "KeyboardInterrupt" not in text
