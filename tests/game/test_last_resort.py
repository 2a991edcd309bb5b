"""The supervisor of last resort, with a real vsmanager killed by SIGKILL: the game still gets
its stop command, its save lines reach vsmanager's standard error (the journal under
systemd), and the sequence escalates as vsmanager's own stop does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from harness import TIME_SCALE, VsManager, python_command, run_vsmanager, simulator_command

PREFIX = "vsmanager last resort: "


def last_resort_lines(vsm: VsManager) -> list[str]:
    return [line.removeprefix(PREFIX) for line in vsm.log_text().splitlines() if line.startswith(PREFIX)]


def wait_for_gone(vsm: VsManager, timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout * TIME_SCALE
    while time.monotonic() < deadline:
        lines = last_resort_lines(vsm)
        if any(line.startswith("the game is gone") for line in lines):
            return lines
        time.sleep(0.05)
    raise AssertionError(f"the last resort never saw the game gone: {last_resort_lines(vsm)}")


def test_a_killed_vsmanagers_game_gets_its_stop_command_and_saves() -> None:
    with run_vsmanager(simulator_command("--save-seconds", "1")) as vsm:
        vsm.wait_for_state("running")
        os.kill(vsm.process.pid, signal.SIGKILL)
        vsm.process.wait(10 * TIME_SCALE)
        lines = wait_for_gone(vsm, 20)
    assert any(line.endswith("is not; sending it '/stop'") for line in lines), lines
    game = [line.removeprefix("game: ") for line in lines if line.startswith("game: ")]
    assert any(line.endswith("Handling Console Command /stop") for line in game), game
    assert any("World saved!" in line for line in game), game
    assert game[-1].endswith("Stopped the server!"), game
    assert not any("SIGTERM" in line or "SIGKILL" in line for line in lines), lines


def test_a_game_deaf_to_its_stop_command_gets_sigterm_after_the_stop_timeout() -> None:
    # Reads nothing and saves on SIGTERM: the stop command waits in its input, unanswered.
    code = ("import signal, sys, time\n"
            "def bye(*_):\n    print('saved on SIGTERM', flush=True)\n    sys.exit(0)\n"
            "signal.signal(signal.SIGTERM, bye)\n"
            "print('Dedicated Server now running on Port 42420 and all ips!', flush=True)\n"
            "time.sleep(120)\n")
    with run_vsmanager(python_command("-c", code), server_stop_timeout=1) as vsm:
        vsm.wait_for_state("running")
        killed = time.monotonic()
        os.kill(vsm.process.pid, signal.SIGKILL)
        vsm.process.wait(10 * TIME_SCALE)
        lines = wait_for_gone(vsm, 20)
        took = time.monotonic() - killed
    assert any("did not exit 1 s after '/stop'; sending SIGTERM" in line for line in lines), lines
    assert "game: saved on SIGTERM" in lines, lines
    assert not any("SIGKILL" in line for line in lines), lines
    assert took >= 1.0


def test_a_normal_stop_leaves_the_last_resort_nothing_to_do() -> None:
    with run_vsmanager(simulator_command()) as vsm:
        vsm.wait_for_state("running")
        with vsm.client() as client:
            assert client.post("/server/stop", params={"wait": 20}).json()["state"] == "stopped"
        time.sleep(0.5 * TIME_SCALE)
        assert last_resort_lines(vsm) == []


# Its relays (one thread per pipe) and its main thread report at the same time: each report
# must reach standard error as one whole line.
SAY_FROM_THREADS = """
import sys, threading
from vsmanager.game import last_resort
sys.setswitchinterval(1e-6)
def say(name):
    for n in range(2000):
        last_resort._say(f"{name} {n} " + "x" * 40)
threads = [threading.Thread(target=say, args=(f"t{i}",)) for i in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
"""


def test_reports_from_several_threads_are_whole_lines() -> None:
    done = subprocess.run([sys.executable, "-c", SAY_FROM_THREADS], capture_output=True,
                          text=True, timeout=60 * TIME_SCALE)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stderr.splitlines()
    broken = [line for line in lines if not (line.startswith(PREFIX) and line.endswith("x" * 40)
                                            and line.count(PREFIX) == 1)]
    assert broken == [], broken[:5]
    assert len(lines) == 4 * 2000
