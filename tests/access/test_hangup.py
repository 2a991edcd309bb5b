"""SIGHUP (`systemctl reload`) re-reads what can be re-read and never ends vsmanager, with a
keys file or without one (the config `vsmanager init` writes has none)."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from harness import TIME_SCALE, run_vsmanager


def hangup_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if "keys_unchanged" in line or "keys_reloaded" in line]


def wait_for_lines(read: object, count: int, timeout: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout * TIME_SCALE
    lines: list[str] = []
    while time.monotonic() < deadline:
        lines = hangup_lines(read())  # type: ignore[operator]
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    raise AssertionError(f"expected {count} reload lines, got {lines}")


def test_sighup_without_a_keys_file_never_ends_vsmanager_nor_the_game() -> None:
    with run_vsmanager() as vsm:
        game = vsm.wait_for_state("running")["pid"]
        for sent in range(1, 4):
            os.kill(vsm.process.pid, signal.SIGHUP)
            lines = wait_for_lines(vsm.log_text, sent)
        assert vsm.process.poll() is None
        assert all("keys_unchanged" in line and "why=SIGHUP" in line for line in lines), lines
        assert all("keys_file=none" in line for line in lines), lines
        status = vsm.status()
        assert status["state"] == "running" and status["pid"] == game


def test_sighup_with_an_unchanged_keys_file_says_nothing_changed(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"version": 1, "keys": []}))
    with run_vsmanager(keys_file=keys) as vsm:
        vsm.wait_for_state("running")
        os.kill(vsm.process.pid, signal.SIGHUP)
        (line,) = wait_for_lines(vsm.log_text, 1)
        assert "keys_unchanged" in line and "why=SIGHUP" in line and str(keys) in line
        assert vsm.process.poll() is None
