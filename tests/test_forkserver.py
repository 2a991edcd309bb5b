"""The tests' fork server starts vsmanager as a fresh interpreter would: its own session, the
test's environment and working directory, output to the test's file, Popen's exit codes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest

import forkserver
from harness import TIME_SCALE, run_vsmanager

pytestmark = pytest.mark.skipif(not forkserver.ENABLED, reason="VS_TEST_FORKSERVER=0")


def _spawn(tmp_path: Path, argv: list[str], env: dict[str, str]) -> tuple[forkserver.ForkedProcess, Path]:
    out = tmp_path / "out.log"
    with out.open("wb") as file:
        process = forkserver.spawn(argv, env, stdout=file.fileno(), stderr=file.fileno(),
                                   cwd=str(tmp_path))
    return process, out


def test_a_command_prints_to_the_given_file_and_exits_with_its_code(tmp_path: Path) -> None:
    process, out = _spawn(tmp_path, ["--version"], {"PATH": os.environ["PATH"]})
    assert process.wait(30 * TIME_SCALE) == 0
    assert "vsmanager" in out.read_text()
    process, out = _spawn(tmp_path, ["no-such-command"], {"PATH": os.environ["PATH"]})
    assert process.wait(30 * TIME_SCALE) == 2  # argparse's usage error, as from a shell
    assert "invalid choice" in out.read_text()


def test_the_child_has_the_tests_environment_directory_and_a_session_of_its_own(
        tmp_path: Path) -> None:
    # `config check` reads VS_CONFIG relative to the working directory and says what it read.
    (tmp_path / "vsmanager.toml").write_text('[server]\ncommand = "echo hi"\n')
    process, out = _spawn(tmp_path, ["config", "check"],
                          {"PATH": os.environ["PATH"], "VS_CONFIG": "vsmanager.toml"})
    assert process.wait(30 * TIME_SCALE) == 1  # valid, but serve would want an admin key
    assert 'server_command = "echo hi"  # from server.command in' in out.read_text()


def test_a_running_vsmanager_is_its_own_session_and_dies_by_a_signal_as_popen_says() -> None:
    with run_vsmanager() as vsm:
        vsm.wait_for_state("running")
        assert os.getsid(vsm.process.pid) == vsm.process.pid
        # SIGPIPE ignored, as a fresh interpreter has it: at its default, the first client to
        # close its socket before an answer went out killed vsmanager.
        status = Path(f"/proc/{vsm.process.pid}/status").read_text()
        ignored = int(next(row.split()[1] for row in status.splitlines() if row.startswith("SigIgn:")), 16)
        assert ignored & (1 << (signal.SIGPIPE - 1))
        with pytest.raises(subprocess.TimeoutExpired):
            vsm.process.wait(0.1)
        assert vsm.process.poll() is None
        vsm.process.send_signal(signal.SIGKILL)
        assert vsm.process.wait(10 * TIME_SCALE) == -signal.SIGKILL


def test_a_child_that_exits_at_once_has_its_pid_and_exit_lines_read_apart() -> None:
    # The server writes the pid, then the exit code when it reaps the child: a child that
    # exits at once can have both lines arrive in one read (seen on a loaded machine).
    ours, server = socket.socketpair()
    with ours, server:
        server.sendall(b"26721\n2\n")
        pid, rest = forkserver._number_line(ours, b"", "gone")
        process = forkserver.ForkedProcess(ours, pid, ["vsmanager"], rest)
        assert (pid, process.wait(5)) == (26721, 2)
    # And apart, as usual: the exit line read when it comes.
    ours, server = socket.socketpair()
    with ours, server:
        server.sendall(b"26722\n")
        pid, rest = forkserver._number_line(ours, b"", "gone")
        process = forkserver.ForkedProcess(ours, pid, ["vsmanager"], rest)
        assert process.poll() is None
        server.sendall(b"-9\n")
        assert (pid, process.wait(5)) == (26722, -9)
