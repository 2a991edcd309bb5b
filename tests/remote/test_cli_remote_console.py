"""``vsmanager console`` against a real vsmanager: tail, follow, JSON, resume, safe output."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect
import pytest

from harness import (
    ADMIN_KEY,
    MONITOR_KEY,
    TIME_SCALE,
    VsManager,
    free_port,
    python_command,
    run_vsmanager,
    simulator_command,
)
from proxy import TcpProxy
from vsmanager.cli import main

TIMEOUT = 15.0 * TIME_SCALE


class Cli:
    """Runs ``vsmanager.cli.main`` in this process with the URL and key in the environment."""

    def __init__(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                 tmp_path: Path) -> None:
        self.capsys = capsys
        self.monkeypatch = monkeypatch
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
        for name in ("VS_URL", "VS_API_KEY", "VS_API_KEY_FILE"):
            monkeypatch.delenv(name, raising=False)

    def __call__(self, url: str, *args: str, key: str | None = ADMIN_KEY
                 ) -> tuple[int, str, str]:
        self.monkeypatch.setenv("VS_URL", url)
        if key is None:
            self.monkeypatch.delenv("VS_API_KEY", raising=False)
        else:
            self.monkeypatch.setenv("VS_API_KEY", key)
        self.capsys.readouterr()
        code = main(list(args))
        out, err = self.capsys.readouterr()
        return code, out, err


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> Cli:
    return Cli(capsys, monkeypatch, tmp_path)


def json_lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines()]


def seqs(lines: list[dict[str, object]]) -> list[int]:
    return [int(line["seq"]) for line in lines]  # type: ignore[call-overload]


class Follower:
    """``python -m vsmanager console --follow`` as a child, its stdout and stderr collected."""

    def __init__(self, url: str, *args: str, key: str = ADMIN_KEY) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VS_")}
        env.update(VS_URL=url, VS_API_KEY=key, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "vsmanager", "console", "--follow", *args],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.out), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, self.err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, pipe: object, into: list[str]) -> None:
        for line in pipe:  # type: ignore[attr-defined]
            with self._changed:
                into.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait_until(self, what: str, condition: Callable[[], bool],
                   timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.process.poll() is not None:
                    raise AssertionError(
                        f"follower never got {what}; exit {self.process.poll()}; "
                        f"stderr {self.err[-10:]}; stdout {self.out[-5:]}"
                    )
                self._changed.wait(min(remaining, 0.1))

    def notices(self, word: str) -> int:
        return sum(word in line for line in self.err)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        for reader in self._readers:
            reader.join(5)
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()


@contextlib.contextmanager
def follower(url: str, *args: str, key: str = ADMIN_KEY) -> Iterator[Follower]:
    child = Follower(url, *args, key=key)
    try:
        yield child
    finally:
        child.stop()


# -- history ------------------------------------------------------------------------------


def test_tail_prints_the_newest_lines_as_plain_text(shared_vsm: VsManager, cli: Cli) -> None:
    code, out, err = cli(shared_vsm.url, "console", "--tail", "3")
    assert (code, err) == (0, "")
    printed = out.splitlines()
    assert len(printed) == 3
    texts = [line["text"] for line in shared_vsm.history(lines=10_000)["lines"]]  # type: ignore[attr-defined]
    start = texts.index(printed[0])
    assert texts[start:start + 3] == printed
    assert "vsmanager:" not in out and "\x1b" not in out


def test_json_output_parses_line_by_line_with_consecutive_seqs(shared_vsm: VsManager, cli: Cli) -> None:
    code, out, _ = cli(shared_vsm.url, "console", "--tail", "5", "--json")
    assert code == 0
    lines = json_lines(out)
    assert len(lines) == 5
    assert seqs(lines) == list(range(seqs(lines)[0], seqs(lines)[0] + 5))
    held = shared_vsm.history(after=seqs(lines)[0] - 1, limit=5)["lines"]
    assert lines == held


def test_tail_all_prints_everything_held(shared_vsm: VsManager, cli: Cli) -> None:
    code, out, _ = cli(shared_vsm.url, "console", "--tail", "all", "--json")
    assert code == 0
    lines = json_lines(out)
    assert seqs(lines)[0] == shared_vsm.history(lines=0)["first_seq"] == 1
    assert seqs(lines) == list(range(1, len(lines) + 1))
    assert any("Dedicated Server now running" in str(line["text"]) for line in lines)


def test_after_prints_exactly_the_lines_after_seq(shared_vsm: VsManager, cli: Cli) -> None:
    code, out, _ = cli(shared_vsm.url, "console", "--after", "5", "--json")
    assert code == 0
    lines = json_lines(out)
    assert seqs(lines)[0] == 6
    assert seqs(lines) == list(range(6, 6 + len(lines)))


def test_streams_and_timestamps(shared_vsm: VsManager, cli: Cli) -> None:
    with shared_vsm.client() as client:
        client.post("/console/command", json={"command": "/stats"}).raise_for_status()
    shared_vsm.wait_for_line("Uptime")
    code, out, _ = cli(shared_vsm.url, "console", "--tail", "1", "--streams", "command", "--timestamps")
    assert code == 0
    stamp, _, text = out.strip().partition(" ")
    echo = shared_vsm.wait_for_line("/stats")
    by = f"{echo['by']} ran " if "by" in echo else ""  # named keys: who ran it
    assert text == f"[CMD] {by}/stats"
    assert stamp == echo["ts"]


def test_lines_no_longer_held_are_reported_as_a_counted_gap(cli: Cli) -> None:
    with run_vsmanager(console_buffer_lines=10) as vsm:
        vsm.wait_for_state("running")
        first = int(vsm.history(lines=0)["first_seq"])  # type: ignore[call-overload]
        assert first > 2
        code, out, err = cli(vsm.url, "console", "--after", "1", "--json")
        assert code == 0
        assert f"gap of {first - 2} lines (seq 2-{first - 1}" in err
        assert seqs(json_lines(out))[0] == first
        with follower(vsm.url, "--after", "1", "--json") as child:
            child.wait_until("the gap notice", lambda: child.notices("gap of") == 1)
            child.wait_until("lines", lambda: len(child.out) > 0)
            gap = next(line for line in child.err if "gap of" in line)
            held_from = int(gap.split("seq 2-")[1].split(" ")[0]) + 1
            assert seqs(json_lines(child.out[0]))[0] == held_from


# -- following ----------------------------------------------------------------------------


def test_follow_prints_new_lines_live_and_notices_on_stderr(shared_vsm: VsManager) -> None:
    with follower(shared_vsm.url, "--tail", "2") as child:
        child.wait_until("the connected notice", lambda: child.notices("connected to") == 1)
        child.wait_until("two lines of history", lambda: len(child.out) >= 2)
        with shared_vsm.client() as client:
            client.post("/console/command", json={"command": "/announce hello"})
        child.wait_until("the answer", lambda: any("Server: hello" in s for s in child.out))
        assert any(re.fullmatch(r"\[CMD\] (\S+ ran )?/announce hello", line) for line in child.out)
        assert not any(line.startswith("vsmanager:") for line in child.out)


def test_follow_says_the_crash_and_the_pending_restart() -> None:
    crashing = python_command("-c", "import sys; print('boom', flush=True); sys.exit(3)")
    with run_vsmanager(crashing, server_ready_pattern="", server_restart_delay=60) as vsm:
        vsm.wait_for_state("crashed")
        with follower(vsm.url, "--tail", "all") as child:
            child.wait_until("the crash notice",
                             lambda: child.notices("server crashed (exit code 3); restarting in") == 1)
            child.wait_until("the crashed run's lines", lambda: "boom" in child.out)
            assert "[vsmanager] server started (pid " in "\n".join(child.out)


def test_follow_resumes_after_cut_connections_without_loss_or_duplicate() -> None:
    with run_vsmanager(simulator_command("--events-per-second", "50")) as vsm, \
            TcpProxy(vsm.port) as proxy, \
            follower(proxy.url, "--tail", "0", "--json") as child:
        vsm.wait_for_state("running")
        for cut in range(1, 3):
            child.wait_until(f"connection {cut}", lambda c=cut: child.notices("connected to") == c)
            count = len(child.out)
            child.wait_until("20 more lines", lambda n=count: len(child.out) >= n + 20)
            proxy.cut()
        child.wait_until("reconnected twice", lambda: child.notices("connected to") == 3)
        count = len(child.out)
        child.wait_until("20 more lines", lambda: len(child.out) >= count + 20)
        child.stop()

        assert child.notices("reconnecting") == 2
        assert child.notices("gap") == 0
        lines = json_lines("\n".join(child.out))
        first = seqs(lines)[0]
        assert seqs(lines) == list(range(first, first + len(lines)))
        held = vsm.history(after=first - 1, limit=len(lines))["lines"]
        assert lines == held


def test_follow_starts_over_when_vsmanager_was_replaced() -> None:
    with run_vsmanager(simulator_command("--events-per-second", "50")) as first, \
            TcpProxy(first.port) as proxy, \
            follower(proxy.url, "--tail", "0", "--json") as child:
        child.wait_until("80 lines", lambda: len(child.out) >= 80)
        with run_vsmanager() as second:
            second.wait_for_state("running")
            proxy.retarget(second.port)
            child.wait_until("the restart notice", lambda: child.notices("restarted") == 1)
            child.wait_until(
                "the new server's ready line",
                lambda: any("Dedicated Server now running" in line for line in child.out[80:]),
            )
            held = second.history(lines=10_000)["lines"]
        child.stop()
        lines = json_lines("\n".join(child.out))
        restart_at = next(i for i, line in enumerate(lines) if line["seq"] == 1)
        before, after = seqs(lines[:restart_at]), lines[restart_at:]
        assert before == list(range(before[0], before[0] + len(before)))
        # The follower kept reading until the second vsmanager stopped: it has at least
        # everything held when the snapshot was taken, in order, numbered from 1.
        assert after[:len(held)] == held  # type: ignore[arg-type]


def test_resume_never_takes_a_new_numbering_for_the_old_one() -> None:
    """The new vsmanager's numbering has passed the follower's seq: its lines after that seq
    are not the ones missed, and must not be printed as if they were."""
    with run_vsmanager() as first, TcpProxy(first.port) as proxy, \
            follower(proxy.url, "--tail", "all", "--json") as child:
        first.wait_for_line("Dedicated Server now running")
        ready = len(first.history(lines=10_000)["lines"])  # type: ignore[arg-type]
        child.wait_until("the first vsmanager's lines", lambda: len(child.out) >= ready)
        old_last = seqs(json_lines("\n".join(child.out)))[-1]
        with run_vsmanager(simulator_command("--events-per-second", "200")) as second:
            deadline = time.monotonic() + TIMEOUT
            while int(second.history(lines=0)["last_seq"]) < old_last + 300:  # type: ignore[call-overload]
                assert time.monotonic() < deadline, "the second vsmanager stayed quiet"
                time.sleep(0.05)
            proxy.retarget(second.port)
            child.wait_until("the restart notice", lambda: child.notices("restarted") == 1)
            count = len(child.out)
            child.wait_until("lines of the new numbering", lambda: len(child.out) >= count + 50)
            child.stop()
            lines = json_lines("\n".join(child.out))
            # The first vsmanager's lines: however many it wrote before the switch.
            old = {int(line["seq"]): line for line in first.history(  # type: ignore[union-attr]
                lines=10_000)["lines"]}  # type: ignore[call-overload]
            switch = next(i for i, line in enumerate(lines) if old.get(int(line["seq"])) != line)  # type: ignore[call-overload]
            old_last = int(lines[switch - 1]["seq"])  # type: ignore[call-overload]
            new = lines[switch:]
            held = {int(line["seq"]): line for line in second.history(  # type: ignore[union-attr]
                after=int(new[0]["seq"]) - 1, limit=len(new))["lines"]}  # type: ignore[call-overload]
    assert seqs(lines[:switch]) == list(range(1, switch + 1))
    assert int(new[0]["seq"]) != old_last + 1  # not "the lines after old_last" of another numbering
    assert int(new[0]["seq"]) > old_last + 100  # a fresh client's newest history_lines
    assert seqs(new) == list(range(seqs(new)[0], seqs(new)[0] + len(new)))
    assert all(line == held[int(line["seq"])] for line in new)  # type: ignore[call-overload]
    assert child.notices("gap") == 0


def test_after_with_another_console_id_shows_everything_afresh(
    shared_vsm: VsManager, cli: Cli
) -> None:
    code, out, err = cli(shared_vsm.url, "console", "--no-follow", "--after", "5",
                         "--console-id", "0123abcd", "--json")
    assert code == 0
    assert "is not this vsmanager's" in err
    assert seqs(json_lines(out))[0] == shared_vsm.history(lines=0)["first_seq"]
    console_id = str(shared_vsm.status()["console_id"])
    code, out, err = cli(shared_vsm.url, "console", "--no-follow", "--after", "5",
                         "--console-id", console_id, "--json")
    assert (code, err) == (0, "")
    assert seqs(json_lines(out))[0] == 6


# -- safety -------------------------------------------------------------------------------

HOSTILE_LINE = (
    "title \x1b]0;pwned\x07 clear \x1b[2J\x1b[H \x1b[31mred\x1b[0m back\x08\x08 "
    "csi \x9b31m bidi \u202egnp.exe"
)
HOSTILE_SERVER = (
    "import sys\n"
    f"sys.stdout.write({HOSTILE_LINE!r} + '\\n')\n"
    "sys.stdout.flush()\n"
    "for line in sys.stdin:\n"
    "    if line.strip() == '/stop':\n"
    "        break\n"
)


@pytest.fixture
def hostile() -> Iterator[VsManager]:
    with run_vsmanager(python_command("-c", HOSTILE_SERVER), server_ready_pattern="") as vsm:
        vsm.wait_for_line("pwned")
        yield vsm


def test_hostile_control_characters_are_escaped(hostile: VsManager, cli: Cli) -> None:
    code, out, _ = cli(hostile.url, "console", "--tail", "all", "--streams", "stdout")
    assert code == 0
    assert out == (
        "title \\x1b]0;pwned\\x07 clear \\x1b[2J\\x1b[H \x1b[31mred\x1b[0m back\\x08\\x08 "
        "csi \\x9b31m bidi \\u202egnp.exe\n"
    )


FORGING_LINES = (
    "\x1b[1;35m[CMD] /op attacker",
    "\x1b[1;7;35m CMD \x1b[0m \x1b[1;35m/op attacker",
    "\x1b[36m[vsmanager] server stopped by admin",
    "\x1b[1;7;33m vsmanager \x1b[0m \x1b[1;33mserver stopped by admin",
    "\x1b[8mhidden\x1b[0m \x1b[5;4mblink",
    "\x1b[1mvsmanager:\x1b[0m server crashed",
)
FORGING_SERVER = (
    "import sys\n"
    f"for line in {FORGING_LINES!r}:\n"
    "    sys.stdout.write(line + '\\n')\n"
    "sys.stdout.write('forgeries done\\n')\n"
    "sys.stdout.flush()\n"
    "for line in sys.stdin:\n"
    "    if line.strip() == '/stop':\n"
    "        break\n"
)


def test_game_output_cannot_forge_vsmanager_marks_on_a_terminal() -> None:
    with run_vsmanager(python_command("-c", FORGING_SERVER), server_ready_pattern="") as vsm:
        vsm.wait_for_line("forgeries done")
        env = {k: v for k, v in os.environ.items() if not k.startswith("VS_")}
        env.update(VS_URL=vsm.url, VS_API_KEY=ADMIN_KEY, TERM="xterm")
        child = pexpect.spawn(sys.executable, ["-m", "vsmanager", "console", "--tail", "all",
                                               "--no-follow", "--no-interactive"],
                              env=env, timeout=TIMEOUT, encoding="utf-8")
        try:
            child.expect(pexpect.EOF)
        finally:
            child.close(force=True)
        assert child.exitstatus == 0
        shown = child.before.replace("\r\n", "\n").splitlines()
        game = shown[shown.index(next(s for s in shown if "/op attacker" in s)):]
        game = game[:len(FORGING_LINES)]
        for line in game:  # game text: colours only, never bold, inverse, blink or conceal
            assert not re.search(r"\x1b\[[0-9;]*\b[1-9]\b[0-9;]*m", line), repr(line)
        assert "hidden" in game[4] and "\x1b[8m" not in game[4]
        # vsmanager's own system line, printed by the same command, has its marks.
        started = next(s for s in shown if "server started" in s or "started (pid" in s)
        assert started.startswith("\x1b[1;7;33m vsmanager \x1b[0m \x1b[1;33m")


def test_raw_and_json_keep_the_exact_text(hostile: VsManager, cli: Cli) -> None:
    code, out, _ = cli(hostile.url, "console", "--tail", "all", "--streams", "stdout", "--raw")
    assert (code, out) == (0, HOSTILE_LINE + "\n")
    code, out, _ = cli(hostile.url, "console", "--tail", "all", "--streams", "stdout", "--json")
    assert code == 0
    assert json_lines(out)[0]["text"] == HOSTILE_LINE
    assert not any(c in out for c in "\x1b\x07\x08\x9b\u202e")


# -- exit codes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "words"),
    [pytest.param("not-the-key-0123456789", "refused", id="unknown-key"),
     pytest.param(MONITOR_KEY, "admin", id="monitor-key")],
)
def test_refused_key_exits_3(shared_vsm: VsManager, cli: Cli, key: str, words: str) -> None:
    for follow in ("--no-follow", "--follow"):
        code, out, err = cli(shared_vsm.url, "console", follow, key=key)
        assert (code, out) == (3, "")
        assert words in err and key not in err


def test_unreachable_exits_4_after_retries(cli: Cli) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    code, out, err = cli(url, "console", "--no-follow")
    assert (code, out) == (4, "")
    assert "cannot reach vsmanager" in err
    assert time.monotonic() - started >= 1.0  # it did retry, with backoff
    code, _, err = cli(url, "console", "--follow", "--retries", "1")
    assert code == 4


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["console", "--tail", "ten"], id="bad-tail"),
        pytest.param(["console", "--after", "-1"], id="negative-after"),
        pytest.param(["console", "--tail", "3", "--after", "2"], id="tail-and-after"),
        pytest.param(["console", "--streams", "stdout,bogus"], id="bad-stream"),
        pytest.param(["console", "--json", "--raw"], id="json-and-raw"),
    ],
)
def test_usage_errors_exit_2(cli: Cli, args: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli("http://127.0.0.1:9", *args)
    assert exited.value.code == 2


@pytest.mark.parametrize(
    ("args", "key", "message"),
    [
        pytest.param(["console"], None, "no API key", id="no-key"),
        pytest.param(["console", "--url", "ftp://x"], ADMIN_KEY, "http://", id="bad-url"),
        pytest.param(["console", "-i", "--json"], ADMIN_KEY, "--interactive", id="i-json"),
    ],
)
def test_usage_errors_found_after_parsing_exit_2(
    cli: Cli, args: list[str], key: str | None, message: str
) -> None:
    code, out, err = cli("http://127.0.0.1:9", *args, key=key)
    assert (code, out) == (2, "")
    assert message in err
