"""The built-in Vintage Story stand-in, as a real process."""

from __future__ import annotations

import contextlib
import io
import queue
import re
import signal
import subprocess
import sys
import threading
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


# -- players: joins, leaves, chat, /list clients and /stats that agree ---------------------------

JOIN = re.compile(r"^\S+ \S+ \[Server Event\] (\S+) \[([^\]]+)\]:(\d+) joins\.$")
LEAVE = re.compile(r"^\S+ \S+ \[Server Event\] Player (\S+) left\.$")
ENTRY = re.compile(r"^\[(\d+)\] (\S+) \[([^\]]+)\]:(\d+)$")


def run_until_ready_then(args: list[str], commands: str, busy_seconds: float) -> str:
    """Start the simulator, let it run ``busy_seconds`` once ready, send ``commands``, and
    return all it printed."""
    sim = start_simulator(*args)
    assert sim.stdin is not None and sim.stdout is not None
    stdout = sim.stdout
    lines: queue.Queue[str] = queue.Queue()
    seen: list[str] = []
    reader = threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 20 * TIME_SCALE
        while not any("Dedicated Server now running" in line for line in seen):
            seen.append(lines.get(timeout=max(0.01, deadline - time.monotonic())))
        time.sleep(busy_seconds)
        sim.stdin.write(commands)
        sim.stdin.close()
        sim.wait(10 * TIME_SCALE)
    finally:
        if sim.poll() is None:
            sim.kill()
            sim.wait()
        reader.join(10)
        stdout.close()
    while not lines.empty():
        seen.append(lines.get())
    return "".join(seen)


def replay(lines: list[str]) -> dict[str, tuple[str, str]]:
    online: dict[str, tuple[str, str]] = {}
    for line in lines:
        if (join := JOIN.match(line)) is not None:
            assert join[1] not in online, f"{join[1]} joined twice"
            online[join[1]] = (join[2], join[3])
        elif (leave := LEAVE.match(line)) is not None:
            assert leave[1] in online, f"{leave[1]} left without joining"
            del online[leave[1]]
    return online


def test_players_list_and_stats_agree_with_the_joins_and_leaves() -> None:
    out = run_until_ready_then(["--players", "3", "--event-interval", "0.02", "--seed", "7"],
                               "/list clients\n/stats\n/stop\n", 1.0 * TIME_SCALE)
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines)
                  if line.endswith("[Server Notification] List of online Players"))
    online = replay(lines[:header])
    assert any(LEAVE.match(line) for line in lines[:header]), "no one left: too few events to tell"
    entries = []
    for line in lines[header + 1:]:
        entry = ENTRY.match(line)
        if entry is None:
            break
        entries.append((entry[2], (entry[3], entry[4])))
    assert [int(ENTRY.match(line)[1]) for line in lines[header + 1:header + 1 + len(entries)]] == list(  # type: ignore[index]
        range(1, len(entries) + 1))
    assert dict(entries) == online
    assert f"Players online: {len(online)} / 16" in out
    if not online:
        assert lines[header + 1] == ""


def test_the_game_facts_of_its_console_match_its_list_answer() -> None:
    from vsmanager.game.profile import GameFacts, build_profile

    out = run_until_ready_then(["--players", "4", "--event-interval", "0.02", "--max-players", "6"],
                               "/list clients\n/stats\n/stop\n", 0.8 * TIME_SCALE)
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if "List of online Players" in line)
    from_events = GameFacts(build_profile("vintagestory"))
    for line in lines[:header]:
        from_events.observe("stdout", line)
    everything = GameFacts(build_profile("vintagestory"))
    for line in lines:
        everything.observe("stdout", line)
    assert list(everything.players) == list(replay(lines[:header]))
    assert sorted(from_events.players) == sorted(everything.players)
    assert everything.players_max == 6
    assert everything.version == "1.22.6" and everything.channel == "Stable"
    assert everything.overloaded_ticks == sum("Server overloaded" in line for line in lines)


def test_chat_lines_carry_the_sender_twice() -> None:
    out = run_until_ready_then(["--players", "2", "--event-interval", "0.02"], "/stop\n", 0.5 * TIME_SCALE)
    chat = [line for line in out.splitlines() if "[Server Chat]" in line]
    assert chat
    for line in chat:
        assert re.match(r"^\d+\.\d+\.\d{4} \d+:\d\d:\d\d \[Server Chat\] (\S+): <strong>\1:</strong> .+$", line)


def test_players_option_joins_them_at_once_and_kick_makes_one_leave() -> None:
    out = run_until_ready_then(["--players", "2", "--event-interval", "1000"],
                               "/kick Tyron griefing\n/kick Nobody\n/list clients\n/stop\n", 0)
    assert re.search(r"\[Server Event\] Tyron \[::ffff:203\.0\.113\.\d+\]:\d+ joins\.", out)
    assert "[Server Event] Player Tyron left." in out
    assert "No player with name 'Nobody' online" in out
    listed = [line for line in out.splitlines() if ENTRY.match(line)]
    assert len(listed) == 1 and " Priya13 " in listed[0]


def test_version_line_is_the_real_one() -> None:
    out = run_until_ready_then([], "/stop\n", 0)
    assert "\nGame Version: v1.22.6 (Stable)\n" in out


def test_simulate_starts_without_the_web_stack_and_keeps_the_full_command_lines_help() -> None:
    # The simulator is the game of every demo and test run: it must not pay for importing
    # FastAPI, pydantic and the terminal client first.
    probe = ("import runpy, sys; sys.argv = ['vsmanager', 'simulate', '--help']\n"
             "try:\n    runpy.run_module('vsmanager', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             "print('LOADED', sorted(m for m in ('fastapi', 'pydantic', 'httpx', 'prompt_toolkit')"
             " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=30 * TIME_SCALE, check=True).stdout
    assert "LOADED []" in out
    fast_help = out.split("LOADED")[0]
    from vsmanager.cli import build_parser  # the same sub-command as the full parser has it

    parser = build_parser()
    with contextlib.redirect_stdout(io.StringIO()) as full_help, contextlib.suppress(SystemExit):
        parser.parse_args(["simulate", "--help"])
    assert fast_help.replace(" ", "").replace("\n", "") == \
        full_help.getvalue().replace(" ", "").replace("\n", "")
