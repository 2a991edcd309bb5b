"""A vsmanager killed (SIGKILL) in the middle of a backup or a restore: the next one shows
the truth. The backup's job is failed, interrupted by a restart, with no archive and no
partial file left; an interrupted restore is put back before the game starts, or the error
says where the previous files are."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from test_backups_api import make_backup
from test_backups_disk import tmpfs

from harness import TIME_SCALE, VsManager, run_vsmanager, simulator_command
from vsmanager.backups.jobs import Job, JobBook

BIG = 32 * 1024 * 1024  # incompressible: archiving and extracting it leave a window to kill in


def world(tmp_path: Path, big: int = BIG) -> tuple[Path, dict[str, Any]]:
    data = tmp_path / "data"
    (data / "Saves").mkdir(parents=True)
    (data / "serverconfig.json").write_text('{"WorldConfig": {"SaveFileLocation": "Saves/w.vcdbs"}}')
    (data / "Saves" / "w.vcdbs").write_bytes(b"")
    (data / "Playerdata").mkdir()
    (data / "Playerdata" / "big.bin").write_bytes(os.urandom(big))
    settings = {"autostart": False, "backup_dir": tmp_path / "backups",
                "server_workdir": tmp_path, "server_command": simulator_command("--dataPath", str(data))}
    return data, settings


def kill_when(vsm: VsManager, client: httpx.Client, url: str, seen: Callable[[dict[str, Any]], bool]) -> None:
    deadline = time.monotonic() + 60 * TIME_SCALE
    while not seen(client.get(url).json()):
        assert time.monotonic() < deadline, client.get(url).json()
        time.sleep(0.005)
    os.kill(vsm.process.pid, signal.SIGKILL)
    vsm.process.wait(10)


def kill_when_written(vsm: VsManager, partial: Callable[[], list[Path]]) -> None:
    """SIGKILL vsmanager as soon as a partial file has bytes in it. Watched on the disk, not
    through the API: incompressible data is archived at the disk's speed, and a request per
    look let a quiet machine finish the whole archive between two looks."""
    deadline = time.monotonic() + 60 * TIME_SCALE
    while not any(_size(p) > 0 for p in partial()):
        assert time.monotonic() < deadline and vsm.process.poll() is None, "no partial file was written"
        time.sleep(0.001)
    workers = backup_children(vsm.process.pid)
    os.kill(vsm.process.pid, signal.SIGKILL)
    vsm.process.wait(10)
    # The backup process dies with the thread that started it: nothing goes on writing.
    _, alive = psutil.wait_procs(workers, timeout=10 * TIME_SCALE)
    assert workers and not alive


def backup_children(pid: int) -> list[psutil.Process]:
    children = psutil.Process(pid).children()
    return [c for c in children if "vsmanager.backups.child" in " ".join(c.cmdline())]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # renamed into place between the listing and the look
        return 0


def archive_partials(backups: Path) -> list[Path]:
    """The archive being written (``.<name>.partial``), not the job book's own temporary file,
    which comes and goes at every step."""
    return [p for p in backups.glob(".*.partial") if not p.name.startswith(".jobs.json")]


def extracting(data: Path) -> bool:
    """Whether a restore has begun to write the big file into its staging folder."""
    return any(p.stat().st_size > 0 for p in data.glob(".vsmanager-restore-*/Playerdata/big.bin"))


def tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def serve(settings: dict[str, Any]) -> Any:
    rest = {k: v for k, v in settings.items() if k != "server_command"}
    return run_vsmanager(settings["server_command"], **rest)


@pytest.mark.slow  # two vsmanagers and a big file: over 10 s on a busy machine
def test_a_backup_killed_while_archiving_is_failed_after_the_restart_with_nothing_left(tmp_path: Path) -> None:
    _, settings = world(tmp_path, big=4 * BIG)
    backups = settings["backup_dir"]
    with serve(settings) as vsm, vsm.client() as client:
        id = client.post("/backups").json()["id"]
        kill_when_written(vsm, lambda: archive_partials(backups))
    assert archive_partials(backups)  # killed in the middle of writing
    with serve(settings) as vsm, vsm.client() as client:
        found = client.get(f"/backups/{id}").json()
        assert found["state"] == "failed", found
        assert "interrupted by a restart of vsmanager (during archiving)" in found["error"]
        assert client.get("/backups").json() == {"backups": [], "busy": None}
        assert not [p for p in backups.iterdir() if p.name.startswith((".making-", f".{id}", id))]
        assert "interrupted by a restart" in json.dumps(vsm.history(limit=100))
        assert make_backup(client)["state"] == "done"  # and the service is free


@pytest.mark.slow  # two backups, then a restore: over 10 s on a busy machine
def test_a_restore_killed_while_extracting_leaves_the_world_as_it_was_after_the_restart(tmp_path: Path) -> None:
    data, settings = world(tmp_path)
    with serve(settings) as vsm, vsm.client() as client:
        done = make_backup(client)
        (data / "Playerdata" / "since.txt").write_text("made after the backup")
        before = tree(data)
        client.post(f"/backups/{done['id']}/restore", json={"confirm": "w"})
        kill_when(vsm, client, f"/backups/{done['id']}",
                  lambda s: s["restore"]["step"] == "extracting and checking" and extracting(data))
    assert extracting(data)  # killed in the middle of extracting
    with serve(settings) as vsm, vsm.client() as client:
        restore = client.get(f"/backups/{done['id']}").json()["restore"]
        assert restore["state"] == "failed", restore
        assert "interrupted by a restart of vsmanager (during extracting and checking)" in restore["error"]
        assert "the world was not changed" in restore["error"]
        assert tree(data) == before
        assert not [p for p in data.iterdir() if p.name.startswith(".vsmanager-")]


def killed_mid_swap(data: Path, previous: Path, backups: Path) -> dict[str, str]:
    """The disk as a restore killed between two renames leaves it, and its record: the save
    and Playerdata swapped (the previous ones moved aside), ModConfig added (it had none),
    serverconfig.json still staged."""
    staged = data / ".vsmanager-restore-20260101T000000Z"
    for folder in (data / "Playerdata", staged / "Playerdata", data / "Saves", staged / "Saves"):
        folder.mkdir(parents=True, exist_ok=True)
    (data / "Saves" / "w.vcdbs").write_text("old save")
    (data / "Saves" / "w.vcdbs-wal").write_text("old wal")
    (data / "Playerdata" / "p.json").write_text("old players")
    (data / "serverconfig.json").write_text('{"WorldConfig": {"SaveFileLocation": "Saves/w.vcdbs"}}')
    before = tree(data)
    (previous / "Saves").mkdir(parents=True)
    for root in ("Saves/w.vcdbs", "Saves/w.vcdbs-wal", "Playerdata"):
        _move(data / root, previous / root)
    (data / "Saves" / "w.vcdbs").write_text("new save")
    (data / "Playerdata").mkdir()
    (data / "Playerdata" / "p.json").write_text("new players")
    (data / "ModConfig").mkdir()
    (data / "ModConfig" / "m.json").write_text("new mod config")
    (staged / "serverconfig.json").write_text("new config")
    backups.mkdir()
    job = Job("w-20260101T000000Z", "restore", step="swapping in", extra={
        "data": str(data), "staged": str(staged), "previous": str(previous), "added": ["ModConfig"],
        "roots": ["Saves/w.vcdbs", "serverconfig.json", "Playerdata", "ModConfig"], "was_running": False})
    JobBook(backups).save({job.key: job})
    return before


def _move(source: Path, target: Path) -> None:
    # shutil.move: by rename, or by copying to another file system (where putting back by
    # rename then fails, as it would on a disk that broke in between).
    shutil.move(source, target)


def test_a_restore_killed_mid_swap_is_put_back_on_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    before = killed_mid_swap(data, data / ".vsmanager-previous-20260101T000000Z", tmp_path / "backups")
    with run_vsmanager(simulator_command("--dataPath", str(data)), autostart=False,
                       backup_dir=tmp_path / "backups", server_workdir=tmp_path) as vsm, vsm.client() as client:
        restore = client.get("/backups/w-20260101T000000Z").json()["restore"]
        assert restore["state"] == "failed", restore
        assert "(during swapping in); the previous files were put back" in restore["error"]
    assert {k: v for k, v in tree(data).items() if k in before} == before
    assert not (data / "ModConfig").exists()
    assert not [p for p in data.iterdir() if p.name.startswith(".vsmanager-")]


def test_a_restore_that_cannot_be_put_back_names_where_the_previous_files_are(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "elsewhere", "4m") as elsewhere:
        previous = elsewhere / ".vsmanager-previous-20260101T000000Z"
        previous.mkdir()
        data = tmp_path / "data"
        killed_mid_swap(data, previous, tmp_path / "backups")
        with run_vsmanager(simulator_command("--dataPath", str(data)), autostart=False,
                           backup_dir=tmp_path / "backups", server_workdir=tmp_path) as vsm, \
                vsm.client() as client:
            restore = client.get("/backups/w-20260101T000000Z").json()["restore"]
            assert restore["state"] == "failed"
            assert f"they are in {previous}, put them back by hand" in restore["error"], restore
        assert (previous / "Playerdata" / "p.json").read_text() == "old players"
