"""The built-in Vintage Story stand-in, as a real process."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from harness import TIME_SCALE


def start_simulator(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-u", "-m", "vsmanager", "simulate", "--startup-seconds", "0",
         "--save-seconds", "0", *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def finish(process: subprocess.Popen[str], timeout: float = 10.0) -> str:
    try:
        out, _ = process.communicate(timeout=timeout * TIME_SCALE)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
        raise AssertionError(f"the simulator did not exit:\n{out[-2000:]}") from None
    return out


def test_stop_command_saves_and_exits_zero() -> None:
    sim = start_simulator()
    assert sim.stdin is not None
    sim.stdin.write("/stats\n/stop\n")
    sim.stdin.flush()
    out = finish(sim)
    assert sim.returncode == 0
    assert "Dedicated Server now running on Port 42420" in out
    assert "Handling Console Command /stats" in out and "Players online: 0 / 16" in out
    assert out.rstrip().endswith("Stopped the server!")


def test_sigterm_storm_while_busy_still_ends_with_a_clean_shutdown() -> None:
    # A signal handler that took the command queue's lock used to deadlock the simulator
    # when SIGTERM landed while the main thread held it.
    # A save long enough that the storm is over before the interpreter winds down (a SIGTERM
    # during Python's own teardown is fatal, as it is for any program).
    sim = start_simulator("--events-per-second", "500", "--save-seconds", "1")
    assert sim.stdin is not None and sim.stdout is not None
    # Its handler is installed before it prints anything; before that SIGTERM would kill it.
    assert sim.stdout.readline()
    for _ in range(20):
        try:
            sim.stdin.write("/time\n")
            sim.stdin.flush()
            sim.send_signal(signal.SIGTERM)
        except (BrokenPipeError, ProcessLookupError):
            break  # it has already saved and gone
        time.sleep(0.005)
    out = finish(sim)
    assert sim.returncode == 0
    assert "Stop reason: sigterm received" in out
    assert out.rstrip().endswith("Stopped the server!")


def test_unknown_command_is_answered_not_fatal() -> None:
    sim = start_simulator()
    assert sim.stdin is not None
    sim.stdin.write("/frobnicate\n/stop\n")
    sim.stdin.flush()
    out = finish(sim)
    assert "Command /frobnicate does not exist" in out
    assert sim.returncode == 0
