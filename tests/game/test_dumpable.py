"""The game, running as vsmanager's user, cannot read vsmanager's environment (the keys)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from harness import FIXTURES, TIME_SCALE, run_vsmanager, script_command, without_privileges

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")



def test_the_game_cannot_read_vsmanagers_environment() -> None:
    with run_vsmanager(script_command("environ_reader.py"), unprivileged=True, server_ready_pattern="") as vsm:
        line = vsm.wait_for_line("ENVIRON")
        assert line["text"].startswith("ENVIRON DENIED"), line["text"]
        assert vsm.wait_for_line("MEM ")["text"].startswith("MEM DENIED")


def test_without_the_guard_a_same_user_process_can_read_it() -> None:
    # The control: the same reader, against a plain (dumpable) parent of the same user, reads
    # the key. So the test above fails if vsmanager stays dumpable.
    env = {**os.environ, "VS_API_KEY_ADMIN": "a-key-for-the-control-test-0123"}
    parent = subprocess.Popen(
        [*without_privileges(), sys.executable, "-c", "import subprocess, sys; "
         "subprocess.run([sys.executable, sys.argv[1]], stdin=subprocess.DEVNULL)",
         str(FIXTURES / "environ_reader.py")],
        env=env, stdout=subprocess.PIPE, text=True,
    )
    try:
        out, _ = parent.communicate(timeout=20 * TIME_SCALE)
    finally:
        parent.kill()
    assert "ENVIRON READ" in out and "key present: True" in out, out


def test_make_non_dumpable_reports_success_in_a_child() -> None:
    code = "from vsmanager.game.dumpable import make_non_dumpable; print(make_non_dumpable())"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20)
    assert result.stdout.strip() == "True"
