"""vsmanager's own end: the game is stopped the graceful way, or at worst told to stop."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from harness import TIME_SCALE, run_vsmanager, simulator_command


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout * TIME_SCALE
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_stopping_vsmanager_stops_the_game_gracefully_while_watchers_watch(
    sig: signal.Signals,
) -> None:
    with run_vsmanager() as vsm:
        game = int(vsm.wait_for_state("running")["pid"])  # type: ignore[arg-type]
        with connect(vsm.ws_url(history_lines=0), open_timeout=10) as ws:
            os.kill(vsm.process.pid, sig)
            seen: list[str] = []
            with pytest.raises(ConnectionClosed):
                while True:
                    seen.append(str(ws.recv(timeout=30 * TIME_SCALE)))
        vsm.process.wait(30 * TIME_SCALE)
    # uvicorn re-raises the signal once it has shut down cleanly, as a well-behaved service does.
    assert vsm.process.returncode in (0, -sig, 128 + sig)
    assert wait_gone(game, 5)
    # The game was asked with its own stop command, and the watcher saw its last words.
    assert "[CMD] /stop" in seen
    assert any("Stop reason: by console" in line for line in seen)
    assert any("Stopped the server!" in line for line in seen)
    assert seen[-1] == "server exited with code 0"
    assert ws.close_code == 1012


def test_a_killed_vsmanager_leaves_no_game_running() -> None:
    with run_vsmanager(simulator_command("--save-seconds", "0")) as vsm:
        game = int(vsm.wait_for_state("running")["pid"])  # type: ignore[arg-type]
        os.kill(vsm.process.pid, signal.SIGKILL)
        vsm.process.wait(10 * TIME_SCALE)
        # The kernel tells the orphaned game SIGTERM; the simulator saves and exits.
        assert wait_gone(game, 20), _describe(game)


def _describe(pid: int) -> str:
    try:
        process = psutil.Process(pid)
        return f"still there: {process.status()} {process.cmdline()} parent {process.ppid()}"
    except psutil.NoSuchProcess:
        return "gone"
