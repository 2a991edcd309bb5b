"""Backups against a full disk (a small tmpfs) and a kill in the middle of writing."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_backups_api import SAVE, make_backup, sha, wait_job

from harness import TIME_SCALE, run_vsmanager, simulator_command


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_disk_that_fills_during_restore_leaves_the_world_and_the_game_as_they_were(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "data", "6m") as data:
        (data / "Playerdata").mkdir()
        (data / "Playerdata" / "filler.bin").write_bytes(os.urandom(3 * 1024 * 1024))
        command = simulator_command("--dataPath", str(data), "--writes-per-second", "20")
        with run_vsmanager(command, backup_dir=tmp_path / "backups") as vsm, vsm.client() as client:
            vsm.wait_for_state("running")
            done = make_backup(client)
            assert done["verified"], done
            before = sha(data / "Playerdata" / "filler.bin")
            client.post(f"/backups/{done['id']}/restore", json={"confirm": "default"})
            failed = wait_job(client, done["id"], key="restore", timeout=90)
            assert failed["restore"]["state"] == "failed", failed
            assert "extracting and checking failed" in failed["restore"]["error"]
            assert "No space left" in failed["restore"]["error"]
            vsm.wait_for_state("running")
            assert sha(data / "Playerdata" / "filler.bin") == before
            assert (data / SAVE).is_file()
            assert not [p for p in data.iterdir() if p.name.startswith(".vsmanager-")]


def test_a_backup_is_refused_when_space_is_short_with_the_figures(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "Playerdata").mkdir(parents=True)
    (data / "Playerdata" / "filler.bin").write_bytes(os.urandom(2 * 1024 * 1024))
    with tmpfs(tmp_path / "backups", "2m") as backups:
        command = simulator_command("--dataPath", str(data), "--writes-per-second", "20")
        with run_vsmanager(command, backup_dir=backups) as vsm, vsm.client() as client:
            vsm.wait_for_state("running")
            refused = client.post("/backups")
            assert refused.status_code == 507
            assert refused.json()["code"] == "insufficient_space"
            assert "MiB" in refused.json()["message"] and "needed" in refused.json()["message"]
            assert "/genbackup" not in str(vsm.history(limit=1000))  # nothing was asked of the game


_WRITER = """
import sys, time
from pathlib import Path
from vsmanager.backups.archive import Entry, write_archive
def slow(n):
    time.sleep(0.05)
write_archive(Path(sys.argv[1]), [Entry("big.bin", Path(sys.argv[2]))], {}, slow)
"""


def test_a_kill_in_the_middle_of_writing_leaves_no_archive_under_a_final_name(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(8 * 1024 * 1024))
    target = tmp_path / "out" / "w-20260101T000000Z.tar.zst"
    target.parent.mkdir()
    child = subprocess.Popen([sys.executable, "-c", _WRITER, str(target), str(big)])
    try:
        deadline = time.monotonic() + 20 * TIME_SCALE
        while not any(target.parent.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    names = [p.name for p in target.parent.iterdir()]
    assert target.name not in names
    assert names and all(n.endswith(".partial") for n in names)
