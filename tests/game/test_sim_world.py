"""The simulator's save: a real SQLite file, written steadily, copied consistently by /genbackup."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from harness import TIME_SCALE
from vsmanager.game.sim_world import World, check_invariant


def _simulate(data: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-u", "-m", "vsmanager", "simulate", "--startup-seconds", "0.1",
         "--save-seconds", "0.1", "--dataPath", str(data), *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def _read_until(process: subprocess.Popen[str], needle: str, timeout: float) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout * TIME_SCALE
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if needle in line:
            return line
        assert line, f"the simulator exited before {needle!r}"
    raise AssertionError(f"no {needle!r} within {timeout} s")


def test_genbackup_copies_a_consistent_save_while_the_world_is_written_hard(tmp_path: Path) -> None:
    process = _simulate(tmp_path, "--writes-per-second", "500")
    assert process.stdin is not None
    try:
        _read_until(process, "Dedicated Server now running", 20)
        time.sleep(0.5)
        process.stdin.write("/genbackup first\n")
        process.stdin.flush()
        _read_until(process, "Backup complete!", 20)
        tx, total = check_invariant(tmp_path / "Backups" / "first.vcdbs")
        assert tx > 0 and total == 0
        process.stdin.write("/stop\n")
        process.stdin.flush()
        assert process.wait(timeout=20 * TIME_SCALE) == 0
    finally:
        process.kill()
        process.communicate()  # reaps it and closes its pipes
    live_tx, _ = check_invariant(tmp_path / "Saves" / "default.vcdbs")
    assert live_tx > tx  # the world went on being written after the copy
    assert not (tmp_path / "Saves" / "default.vcdbs-wal").exists()  # checkpointed on /stop


def test_the_invariant_check_reads_one_moment_of_a_save_being_written(tmp_path: Path) -> None:
    # The check once read the counter, the ledger and the chunks in three snapshots, and called a
    # save torn when a transaction landed between them (tx 374, chunks 375).
    world = World(tmp_path, writes_per_second=2000, chunk_bytes=64)
    world.start()
    try:
        checks, last_tx = 0, 0
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            tx, total = check_invariant(world.path)
            assert total == 0 and tx >= last_tx
            checks, last_tx = checks + 1, tx
    finally:
        world.stop()
    assert checks > 50 and last_tx > 100  # it really read while the world was written
