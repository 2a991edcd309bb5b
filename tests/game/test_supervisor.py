"""The supervisor against real child processes (tiny Python scripts playing the game)."""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import psutil
import pytest

from harness import ADMIN_KEY, MONITOR_KEY, TIME_SCALE
from vsmanager.config.settings import load_settings
from vsmanager.console.buffer import ConsoleBuffer
from vsmanager.console.feed import ConsoleFeed
from vsmanager.game import run as run_module
from vsmanager.game.leftovers import Leftovers
from vsmanager.game.run import GameRun
from vsmanager.game.supervisor import LifecycleError, ServerState, Supervisor

READY = "Dedicated Server now running on Port 42420 and all ips!"

# A polite game: prints its ready line, answers commands, saves and exits on /stop.
POLITE = f"""
import sys
print("booting")
print({READY!r}, flush=True)
for line in sys.stdin:
    cmd = line.rstrip("\\n")
    if cmd == "/stop":
        print("Saving world...")
        print("Stopped the server!", flush=True)
        sys.exit(0)
    print("answer: " + cmd, flush=True)
"""

# A stubborn game: ignores /stop and SIGTERM, never reads stdin.
STUBBORN = f"""
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print({READY!r}, flush=True)
while True:
    time.sleep(1)
"""


def command_for(code: str) -> str:
    return shlex.join([sys.executable, "-u", "-c", code])


Make = Callable[..., Supervisor]


@pytest.fixture
async def make_supervisor(tmp_path: Path) -> AsyncIterator[Make]:
    made: list[Supervisor] = []

    def make(code: str, **settings: object) -> Supervisor:
        workdir = tmp_path / f"game-{len(made)}"
        workdir.mkdir()
        values: dict[str, object] = {
            "server_workdir": workdir,
            "api_key_admin": ADMIN_KEY,
            "api_key_monitor": MONITOR_KEY,
            "server_command": command_for(code),
            "server_stop_timeout": 5,
            "server_kill_timeout": 2,
        }
        values.update(settings)
        config = load_settings(**values)
        feed = ConsoleFeed(ConsoleBuffer(config.console_buffer_lines, config.console_buffer_bytes))
        supervisor = Supervisor(config, feed)
        made.append(supervisor)
        return supervisor

    yield make
    for supervisor in made:
        await supervisor.shutdown()


def texts(supervisor: Supervisor, stream: str | None = None) -> list[str]:
    lines = supervisor.feed.buffer.tail(1_000_000)
    return [line.text for line in lines if stream is None or line.stream == stream]


async def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout * TIME_SCALE
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def test_ready_line_moves_starting_to_running(make_supervisor: Make) -> None:
    supervisor = make_supervisor(POLITE)
    await supervisor.start()
    await wait_until(lambda: supervisor.state is ServerState.RUNNING)
    status = supervisor.status()
    assert status["pid"] and status["uptime_s"] is not None and status["started_at"]
    assert status["restarts"] == 0 and status["exit_code"] is None


async def test_server_without_ready_line_stays_starting(make_supervisor: Make) -> None:
    supervisor = make_supervisor(
        "import time; print('hello', flush=True); time.sleep(30)", server_stop_timeout=0.2
    )
    await supervisor.start()
    await wait_until(lambda: "hello" in texts(supervisor))
    assert supervisor.state is ServerState.STARTING


async def test_empty_ready_pattern_means_running_at_once(make_supervisor: Make) -> None:
    supervisor = make_supervisor(
        "import time; time.sleep(30)", server_ready_pattern="", server_stop_timeout=0.2
    )
    await supervisor.start()
    assert supervisor.state is ServerState.RUNNING


async def test_start_while_running_is_refused(make_supervisor: Make) -> None:
    supervisor = make_supervisor(POLITE)
    await supervisor.start()
    with pytest.raises(LifecycleError) as refused:
        await supervisor.start()
    assert refused.value.code == "already_running"


async def test_stop_while_stopped_is_refused(make_supervisor: Make) -> None:
    supervisor = make_supervisor(POLITE)
    with pytest.raises(LifecycleError) as refused:
        await supervisor.stop()
    assert refused.value.code == "not_running"


async def test_graceful_stop_keeps_the_last_lines(make_supervisor: Make) -> None:
    supervisor = make_supervisor(POLITE)
    await supervisor.start()
    await wait_until(lambda: supervisor.state is ServerState.RUNNING)
    await supervisor.stop()
    assert await supervisor.wait_exited(10 * TIME_SCALE)
    lines = texts(supervisor)
    assert supervisor.state is ServerState.STOPPED
    assert supervisor.exit_code == 0
    # The stop command, the game's last words, then the exit: in that order.
    order = [lines.index(t) for t in ("stop requested", "/stop", "Stopped the server!",
                                       "server exited with code 0")]
    assert order == sorted(order)


async def test_stop_escalates_to_sigkill_for_a_stubborn_server(make_supervisor: Make) -> None:
    supervisor = make_supervisor(STUBBORN, server_stop_timeout=0.5, server_kill_timeout=0.5)
    await supervisor.start()
    await wait_until(lambda: supervisor.state is ServerState.RUNNING)
    pid = supervisor.pid
    await supervisor.stop()
    assert await supervisor.wait_exited(10 * TIME_SCALE)
    system = texts(supervisor, "system")
    assert any("sending SIGTERM" in t for t in system)
    assert any("sending SIGKILL" in t for t in system)
    assert "server was killed by SIGKILL" in system
    assert supervisor.state is ServerState.STOPPED
    assert pid is not None and not psutil.pid_exists(pid)


async def test_empty_stop_command_goes_straight_to_sigterm(make_supervisor: Make) -> None:
    code = "import signal, sys, time\n" \
           "signal.signal(signal.SIGTERM, lambda *a: (print('bye', flush=True), sys.exit(0)))\n" \
           "print('handler set', flush=True)\n" \
           "time.sleep(30)"
    supervisor = make_supervisor(code, server_stop_command="", server_ready_pattern="")
    await supervisor.start()
    await wait_until(lambda: "handler set" in texts(supervisor))
    await supervisor.stop()
    assert await supervisor.wait_exited(3 * TIME_SCALE)  # far less than the 5 s stop timeout
    assert "bye" in texts(supervisor)
    assert supervisor.exit_code == 0


async def test_stdin_stays_open_until_the_server_exits(make_supervisor: Make) -> None:
    # This game exits 9 if its stdin closes, 0 on SIGTERM: closing stdin early would show.
    code = "import signal, sys, threading, time\n" \
           "signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\n" \
           "def watch():\n" \
           "    sys.stdin.read()\n" \
           "    import os; os._exit(9)\n" \
           "threading.Thread(target=watch, daemon=True).start()\n" \
           "print('handler set', flush=True)\n" \
           "time.sleep(30)"
    supervisor = make_supervisor(code, server_stop_command="", server_ready_pattern="")
    await supervisor.start()
    await wait_until(lambda: "handler set" in texts(supervisor))
    await supervisor.stop()
    assert await supervisor.wait_exited(5 * TIME_SCALE)
    assert supervisor.exit_code == 0


async def test_crash_is_detected_with_its_exit_code(make_supervisor: Make) -> None:
    supervisor = make_supervisor(f"print({READY!r}, flush=True); import sys; sys.exit(3)")
    await supervisor.start()
    assert await supervisor.wait_exited(10 * TIME_SCALE)
    assert supervisor.state is ServerState.CRASHED
    assert supervisor.status()["exit_code"] == 3
    assert "server exited with code 3; restarting in 5 s, crash 1 of 5 in 10 min" in texts(supervisor, "system")


async def test_clean_exit_without_a_stop_request_is_stopped_not_crashed(make_supervisor: Make) -> None:
    supervisor = make_supervisor("print('done')")
    await supervisor.start()
    assert await supervisor.wait_exited(10 * TIME_SCALE)
    assert supervisor.state is ServerState.STOPPED


async def test_console_ends_closed_before_the_last_resort_is_attached_are_left_out(tmp_path: Path) -> None:
    # A game that ends at once may close its pipes before the supervisor of last resort is
    # handed them (CI saw "I/O operation on closed file" out of start()): what is still open
    # goes, stdin first; nothing without stdin.
    code = "import os, sys; os.close(1); os.close(2); sys.stdin.read()"
    config = load_settings(server_workdir=tmp_path, api_key_admin=ADMIN_KEY,
                           server_command=command_for(code))
    feed = ConsoleFeed(ConsoleBuffer(100, 100_000))
    run = await GameRun.spawn(config, feed, Leftovers(), lambda *line: None)
    run.open_console()
    try:
        await wait_until(lambda: len(run.console_fds()) == 1)
        stdin = run.proc.stdin
        assert stdin is not None
        assert run.console_fds() == [stdin.get_extra_info("pipe").fileno()]
    finally:
        stdin_transport = run.proc.stdin
        if stdin_transport is not None:
            stdin_transport.close()  # the game reads EOF and exits
        await asyncio.wait_for(run.watch(), 10 * TIME_SCALE)
    assert run.console_fds() == []


@pytest.mark.parametrize("grandchild", [False, True])
async def test_the_exit_is_heard_not_polled_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                grandchild: bool) -> None:
    # The run learns of the exit from its protocol: with the safety poll an hour long, the
    # exit is still seen at once, also while a grandchild holds the console pipes open.
    monkeypatch.setattr(run_module, "EXIT_CHECK_S", 3600.0)
    code = "import subprocess, sys, time\n"
    if grandchild:
        code += "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
    code += "print('bye', flush=True)\nsys.exit(3)\n"
    config = load_settings(server_workdir=tmp_path, api_key_admin=ADMIN_KEY,
                           server_command=command_for(code))
    feed = ConsoleFeed(ConsoleBuffer(100, 100_000))
    run = await GameRun.spawn(config, feed, Leftovers(), lambda *line: None)
    run.open_console()
    assert await asyncio.wait_for(run.watch(), 10 * TIME_SCALE) == 3


async def test_start_failure_is_reported_not_raised_as_crash(make_supervisor: Make) -> None:
    supervisor = make_supervisor("", server_command="/nonexistent/game-server --flag")
    with pytest.raises(LifecycleError) as refused:
        await supervisor.start()
    assert refused.value.code == "start_failed"
    assert any("failed to start" in t for t in texts(supervisor, "system"))
    assert supervisor.state is ServerState.CRASHED


async def test_hostile_output_does_not_stop_capture(make_supervisor: Make) -> None:
    code = (
        "import sys\n"
        "out = sys.stdout.buffer\n"
        "out.write(b'x' * (1024 * 1024) + b'\\n')\n"
        "out.write(b'bad \\xff\\xfe utf8\\n')\n"
        "out.write(b'nul \\x00 byte\\n')\n"
        "out.write(b'cr only\\rcrlf\\r\\n')\n"
        "out.write(b'after all that\\n')\n"
        "out.flush()\n"
    )
    supervisor = make_supervisor(code, console_max_line_bytes=16384)
    await supervisor.start()
    assert await supervisor.wait_exited(10 * TIME_SCALE)
    lines = texts(supervisor, "stdout")
    pieces = [t for t in lines if set(t) == {"x"}]
    assert sum(map(len, pieces)) == 1024 * 1024
    assert all(len(p) <= 16384 for p in pieces)
    assert "bad \ufffd\ufffd utf8" in lines
    assert "nul \x00 byte" in lines
    assert lines[-3:] == ["cr only", "crlf", "after all that"]


async def test_partial_line_is_flushed_after_silence(make_supervisor: Make) -> None:
    code = "import sys, time\nsys.stdout.write('> '); sys.stdout.flush(); time.sleep(30)"
    supervisor = make_supervisor(code, console_partial_flush_s=0.2, server_stop_timeout=0.2)
    await supervisor.start()
    await wait_until(lambda: "> " in texts(supervisor), timeout=10)


async def test_stderr_lines_are_tagged(make_supervisor: Make) -> None:
    code = "import sys\nprint('to out', flush=True)\nprint('to err', file=sys.stderr, flush=True)"
    supervisor = make_supervisor(code)
    await supervisor.start()
    assert await supervisor.wait_exited(10 * TIME_SCALE)
    assert texts(supervisor, "stderr") == ["to err"]
    assert texts(supervisor, "stdout") == ["to out"]


async def test_command_echo_precedes_its_answer(make_supervisor: Make) -> None:
    supervisor = make_supervisor(POLITE)
    await supervisor.start()
    await wait_until(lambda: supervisor.state is ServerState.RUNNING)
    seq = await supervisor.send_command("/stats")
    await wait_until(lambda: "answer: /stats" in texts(supervisor))
    lines = supervisor.feed.buffer.read_after(seq - 1, 10).lines
    assert (lines[0].stream, lines[0].text) == ("command", "/stats")
    assert lines[1].text == "answer: /stats"


async def test_commands_to_a_server_that_never_reads_stdin_are_refused_not_hung(
    make_supervisor: Make,
) -> None:
    supervisor = make_supervisor(STUBBORN, command_write_timeout=0.5, server_stop_timeout=0.5,
                                 server_kill_timeout=0.5)
    await supervisor.start()
    await wait_until(lambda: supervisor.state is ServerState.RUNNING)
    big = "/say " + "x" * 990
    codes = set()
    async with asyncio.timeout(30 * TIME_SCALE):
        for _ in range(200):  # the pipe holds 64 KiB; each try is bounded
            try:
                await supervisor.send_command(big)
            except LifecycleError as exc:
                codes.add(exc.code)
                break
    assert codes == {"console_input_blocked"}
    await supervisor.stop()
    assert await supervisor.wait_exited(10 * TIME_SCALE)


async def test_no_process_of_the_game_outlives_it(make_supervisor: Make, tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    code = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(child.pid))\n"
        f"print({READY!r}, flush=True)\n"
        "for line in sys.stdin:\n"
        "    if line.strip() == '/stop':\n"
        "        sys.exit(0)\n"
    )
    supervisor = make_supervisor(code)
    await supervisor.start()
    await wait_until(lambda: supervisor.state is ServerState.RUNNING and pidfile.exists())
    grandchild = int(pidfile.read_text())
    await supervisor.stop()
    assert await supervisor.wait_exited(10 * TIME_SCALE)
    await wait_until(lambda: not _alive(grandchild), timeout=5)


async def test_a_process_outside_the_group_holding_the_pipes_does_not_hold_the_exit(
    make_supervisor: Make, tmp_path: Path
) -> None:
    # A grandchild in a session of its own escapes the group kill and keeps stdout open:
    # the exit is still reported at once, the game's own last line is kept, a warning names
    # the escaped process, and the pipe is closed, so its output stops reaching the console.
    pidfile = tmp_path / "escaped.pid"
    chatter = "import time\nwhile True:\n    print('escaped', flush=True)\n    time.sleep(0.02)"
    code = (
        "import subprocess, sys\n"
        f"child = subprocess.Popen([sys.executable, '-c', {chatter!r}], start_new_session=True)\n"
        f"open({str(pidfile)!r}, 'w').write(str(child.pid))\n"
        "print('the game is done', flush=True)\n"
    )
    supervisor = make_supervisor(code, server_ready_pattern="")
    await supervisor.start()
    try:
        assert await supervisor.wait_exited(10 * TIME_SCALE)
        assert supervisor.state is ServerState.STOPPED and supervisor.exit_code == 0
        escaped = int(pidfile.read_text())
        lines = texts(supervisor)
        assert "the game is done" in lines and lines[-1] == "server exited with code 0"
        assert lines[-2].startswith(f"warning: process {escaped} (python")
        # Writing to the closed pipe ends the escaped process (SIGPIPE / BrokenPipeError).
        await wait_until(lambda: not _alive(escaped), timeout=10)
        assert texts(supervisor)[-1] == "server exited with code 0"
    finally:
        if pidfile.exists():
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(int(pidfile.read_text())).kill()


async def test_a_leftover_is_named_at_once_refuses_commands_and_goes_at_shutdown(
    make_supervisor: Make, tmp_path: Path
) -> None:
    pidfile = tmp_path / "leftover.pid"
    code = (
        "import subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],"
        " start_new_session=True)\n"
        f"open({str(pidfile)!r}, 'w').write(str(child.pid))\n"
        f"print({READY!r}, flush=True)\n"
        "sys.stdin.readline()\n"
    )
    supervisor = make_supervisor(code)
    await supervisor.start()
    await wait_until(lambda: supervisor.state is ServerState.RUNNING and pidfile.exists())
    leftover = int(pidfile.read_text())
    try:
        await supervisor.send_command("/quit")  # the game exits 0 on any line
        loop = asyncio.get_running_loop()
        asked = loop.time()
        await wait_until(lambda: supervisor.state is not ServerState.RUNNING, timeout=5)
        # At once: not after a drain timeout of seconds with a dead pid shown as running.
        assert loop.time() - asked < 1.5 * TIME_SCALE
        assert supervisor.state is ServerState.STOPPED
        assert supervisor.status()["leftover_pids"] == [leftover]
        assert any(t.startswith(f"warning: process {leftover} ") for t in texts(supervisor, "system"))
        with pytest.raises(LifecycleError) as refused:
            await supervisor.send_command("/help")
        assert refused.value.code == "server_not_running"
        await supervisor.shutdown()
        assert not _alive(leftover)
    finally:
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(leftover).kill()


async def test_restart_keeps_seq_growing_and_counts(make_supervisor: Make) -> None:
    supervisor = make_supervisor(POLITE)
    await supervisor.start()
    await wait_until(lambda: supervisor.state is ServerState.RUNNING)
    before = supervisor.feed.buffer.last_seq
    await supervisor.restart()
    assert await supervisor.wait_settled(15 * TIME_SCALE)
    assert supervisor.state is ServerState.RUNNING
    assert supervisor.status()["restarts"] == 1
    seqs = [line.seq for line in supervisor.feed.buffer.tail(1000)]
    assert seqs == list(range(1, len(seqs) + 1)) and seqs[-1] > before


async def test_child_environment_has_no_api_keys(
    make_supervisor: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VS_API_KEY_ADMIN", ADMIN_KEY)
    monkeypatch.setenv("SOME_COPY_OF_THE_KEY", MONITOR_KEY)
    monkeypatch.setenv("HARMLESS", "kept")
    # Nor anything that leads to a key: where the keys file, the config or the credentials are.
    monkeypatch.setenv("VS_KEYS_FILE", "/etc/vsmanager/keys.json")
    monkeypatch.setenv("VS_URL", "http://127.0.0.1:8080/etc/vsmanager")
    monkeypatch.setenv("vs_audit_log", "/var/log/vsmanager/audit.jsonl")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", "/run/credentials/vsmanager.service")
    code = "import os; [print(k + '=' + v) for k, v in sorted(os.environ.items())]"
    supervisor = make_supervisor(code)
    await supervisor.start()
    assert await supervisor.wait_exited(10 * TIME_SCALE)
    dump = "\n".join(texts(supervisor, "stdout"))
    assert "HARMLESS=kept" in dump
    assert ADMIN_KEY not in dump and MONITOR_KEY not in dump and "VS_API_KEY" not in dump
    assert "/etc/vsmanager" not in dump and "audit" not in dump and "credentials" not in dump


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False



async def test_a_stop_that_ends_in_sigkill_is_a_killed_run(make_supervisor: Make) -> None:
    supervisor = make_supervisor(STUBBORN, server_stop_timeout=0.3, server_kill_timeout=0.3)
    await supervisor.start()
    await wait_until(lambda: supervisor.state is ServerState.RUNNING)
    await supervisor.stop()
    assert await supervisor.wait_exited(10 * TIME_SCALE)
    status = supervisor.status()
    assert status["last_run"]["outcome"] == "killed" and status["last_run"]["exit_code"] == -9
    assert status["next_restart_at"] is None and status["crashes"] == 0


async def test_a_clean_exit_nobody_asked_for_is_not_restarted(make_supervisor: Make) -> None:
    supervisor = make_supervisor("print('done')", server_restart_delay=0.1)
    await supervisor.start()
    assert await supervisor.wait_exited(10 * TIME_SCALE)
    await asyncio.sleep(0.3 * TIME_SCALE)
    status = supervisor.status()
    assert status["state"] == "stopped" and status["run"] == 1 and status["next_restart_at"] is None
    assert status["last_run"]["outcome"] == "stopped"


async def test_a_crash_is_restarted_after_the_delay_with_a_new_run(make_supervisor: Make) -> None:
    supervisor = make_supervisor(
        f"import sys; print({READY!r}, flush=True); sys.stdin.readline(); sys.exit(2)",
        server_restart_delay=0.5, server_restart_window=3)
    await supervisor.start()
    await wait_until(lambda: supervisor.state is ServerState.RUNNING)
    await supervisor.send_command("/crash")
    await wait_until(lambda: supervisor.status()["next_restart_at"] is not None)
    assert supervisor.state is ServerState.CRASHED and supervisor.status()["crashes"] == 1
    await wait_until(lambda: supervisor.status()["run"] == 2 and supervisor.state is ServerState.RUNNING)
    assert supervisor.status()["next_restart_at"] is None
    # Status says where run 2's lines begin: after run 1's exit line, at its start line.
    first = supervisor.status()["run_first_seq"]
    run2 = [line.text for line in supervisor.feed.buffer.tail(1_000_000) if line.seq >= first]
    assert run2[0].startswith("server started") and run2[0].endswith("run 2)") and READY in run2
    assert not any("exited with code 2" in text for text in run2)
    assert "server exited with code 2; restarting in 0.5 s, crash 1 of 5 in 3 s" in texts(supervisor)


async def test_a_restart_by_hand_of_a_crashed_game_resets_the_count(make_supervisor: Make) -> None:
    supervisor = make_supervisor(f"print({READY!r}, flush=True); import sys; sys.exit(3)",
                                 server_restart_delay=30)
    await supervisor.start()
    await wait_until(lambda: supervisor.status()["crashes"] == 1)
    await supervisor.restart()  # not alive: started at once
    assert supervisor.status()["run"] == 2
    await wait_until(lambda: supervisor.status()["last_run"]["run"] == 2)
    assert supervisor.status()["crashes"] == 1  # the first was forgotten by the restart


async def test_a_failed_automatic_restart_counts_as_a_crash_and_tries_again(
    make_supervisor: Make, tmp_path: Path
) -> None:
    game = tmp_path / "game"
    game.write_text(f"#!{sys.executable}\nimport sys\nsys.exit(4)\n")
    game.chmod(0o755)
    supervisor = make_supervisor("", server_command=str(game), server_restart_delay=0.2,
                                 server_restart_limit=3, server_ready_pattern="")
    await supervisor.start()
    assert await supervisor.wait_exited(10 * TIME_SCALE)
    game.unlink()  # the binary goes away before the restart
    await wait_until(lambda: supervisor.status()["gave_up"])
    system = texts(supervisor, "system")
    assert any(t.startswith("server failed to start: ") and "crash 2 of 3" in t for t in system)
    assert system[-1].endswith("crashed 3 times in 10 min: not restarting; start it by hand")


async def test_autostart_failure_is_logged_not_raised(make_supervisor: Make) -> None:
    supervisor = make_supervisor("", server_command="/nonexistent/game-server")
    await supervisor.autostart()  # once crashed vsmanager with a KeyError in logging
    assert supervisor.state is ServerState.CRASHED


async def test_a_late_ready_line_is_warned_about_once_and_the_server_stays_starting(
    make_supervisor: Make,
) -> None:
    supervisor = make_supervisor("import sys; sys.stdin.readline()", server_ready_timeout=0.2)
    await supervisor.start()
    await wait_until(lambda: any("warning: no line matching" in t for t in texts(supervisor)))
    assert supervisor.state is ServerState.STARTING


async def test_autostart_waits_for_a_held_lock_then_starts(make_supervisor: Make) -> None:
    from vsmanager.game.instance_lock import InstanceLock

    supervisor = make_supervisor(POLITE)
    assert supervisor.settings.server_workdir is not None
    held = InstanceLock(supervisor.settings.server_workdir)
    held.acquire()  # as a killed vsmanager's last resort would, while its game saves
    try:
        await supervisor.autostart()
        assert supervisor.state is ServerState.STOPPED
        await wait_until(lambda: any("waiting up to" in t for t in texts(supervisor, "system")))
        assert any("is locked by vsmanager pid" in t for t in texts(supervisor, "system"))
    finally:
        held.release()
    await wait_until(lambda: supervisor.state is ServerState.RUNNING, timeout=5)


async def test_a_restart_whose_start_fails_says_so_to_whoever_waits(
    make_supervisor: Make, tmp_path: Path
) -> None:
    game = tmp_path / "game"
    game.write_text(f"#!{sys.executable}\n{POLITE}")
    game.chmod(0o755)
    supervisor = make_supervisor("", server_command=str(game))
    await supervisor.start()
    await wait_until(lambda: supervisor.state is ServerState.RUNNING)
    game.unlink()
    started = await supervisor.restart()
    with pytest.raises(LifecycleError) as failed:
        await asyncio.wait_for(started, 10 * TIME_SCALE)
    assert failed.value.code == "start_failed" and "does not exist" in failed.value.message


async def test_the_last_resort_goes_with_its_run(make_supervisor: Make) -> None:
    supervisor = make_supervisor(POLITE)
    await supervisor.start()
    await wait_until(lambda: supervisor.state is ServerState.RUNNING)
    (last_resort,) = supervisor.safeguards.last_resorts
    assert _alive(last_resort.pid)
    await supervisor.stop()
    assert await supervisor.wait_exited(10 * TIME_SCALE)
    await wait_until(lambda: not _alive(last_resort.pid), timeout=5)
    await wait_until(lambda: not supervisor.safeguards.last_resorts, timeout=5)
