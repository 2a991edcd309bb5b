"""Backups end to end: a real vsmanager, the simulator writing a real SQLite save hard."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import zstandard

from harness import TIME_SCALE, VsManager, run_vsmanager, simulator_command
from vsmanager.game.sim_world import check_invariant

SAVE = Path("Saves/default.vcdbs")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[VsManager, Path, Path]]:
    data, backups = tmp_path / "data", tmp_path / "backups"
    (data / "Playerdata").mkdir(parents=True)
    (data / "Playerdata" / "playerdata.json").write_text('{"Tyron": {"role": "admin"}}')
    command = simulator_command("--dataPath", str(data), "--writes-per-second", "300")
    with run_vsmanager(command, backup_dir=backups, backup_timeout=30) as vsm:
        vsm.wait_for_state("running")
        yield vsm, data, backups


def wait_job(client: httpx.Client, id: str, key: str = "state", timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout * TIME_SCALE
    while time.monotonic() < deadline:
        found: dict[str, Any] = client.get(f"/backups/{id}").json()
        part = found.get("restore") if key == "restore" else found
        if part and part["state"] != "running":
            return found
        time.sleep(0.1)
    raise AssertionError(f"backup {id} still running after {timeout} s")


def make_backup(client: httpx.Client) -> dict[str, Any]:
    answer = client.post("/backups")
    assert answer.status_code == 202, answer.text
    return wait_job(client, answer.json()["id"])


def save_in(archive: Path, target: Path) -> Path:
    with open(archive, "rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw) as stream, \
            tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            if member.name == SAVE.as_posix():
                target.write_bytes(tar.extractfile(member).read())  # type: ignore[union-attr]
    return target


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_backup_while_the_game_writes_hard_is_verified_consistent_and_downloads_exactly(
        world: tuple[VsManager, Path, Path], tmp_path: Path) -> None:
    vsm, _, backups = world
    with vsm.client() as client:
        done = make_backup(client)
        assert done["state"] == "done" and done["verified"] is True, done
        assert done["made_by"] == "admin" and done["world"] == "default"
        listed = client.get("/backups").json()["backups"]
        assert [b["id"] for b in listed] == [done["id"]]
        archive = backups / done["name"]
        manifest = json.loads((backups / f"{done['name']}.json").read_text())
        assert {f["path"] for f in manifest["files"]} >= {SAVE.as_posix(), "serverconfig.json",
                                                         "Playerdata/playerdata.json", "mods.json"}
        tx, total = check_invariant(save_in(archive, tmp_path / "copy.vcdbs"))
        assert tx > 0 and total == 0
        with client.stream("GET", f"/backups/{done['id']}/download") as response:
            body = response.read()
        assert len(body) == int(response.headers["content-length"]) == archive.stat().st_size
        assert hashlib.sha256(body).hexdigest() == response.headers["x-content-sha256"]
        with vsm.client(vsm.monitor_key) as monitor:
            assert monitor.get("/backups").status_code == 200
            assert monitor.post("/backups").status_code == 403
        assert "Backup complete!" in json.dumps(vsm.history(limit=1000))
        metrics = client.get(vsm.url + "/metrics").text
        assert 'vsmanager_backup_last_outcome{outcome="verified"} 1.0' in metrics


def test_restore_brings_the_world_back_exactly_and_a_stopped_game_stays_stopped(
        world: tuple[VsManager, Path, Path]) -> None:
    vsm, data, backups = world
    with vsm.client() as client:
        done = make_backup(client)
        wanted = {f["path"]: f["sha256"] for f in
                  json.loads((backups / f"{done['name']}.json").read_text())["files"]}
        client.post("/server/stop", params={"wait": 20})
        (data / "Playerdata" / "playerdata.json").write_text("{}")
        assert sha(data / SAVE) != wanted[SAVE.as_posix()]
        refused = client.post(f"/backups/{done['id']}/restore", json={"confirm": "nope"})
        assert refused.status_code == 422 and refused.json()["code"] == "confirmation_required"
        answer = client.post(f"/backups/{done['id']}/restore", json={"confirm": "default"})
        assert answer.status_code == 202
        assert client.post("/backups").status_code == 409  # one at a time
        restored = wait_job(client, done["id"], key="restore")
        assert restored["restore"]["state"] == "done", restored
        assert sha(data / SAVE) == wanted[SAVE.as_posix()]
        assert sha(data / "Playerdata" / "playerdata.json") == wanted["Playerdata/playerdata.json"]
        assert vsm.status()["state"] == "stopped"
        made_by = [b["made_by"] for b in client.get("/backups").json()["backups"]]
        assert "pre-restore" in made_by
        assert not [p for p in data.iterdir() if p.name.startswith(".vsmanager-")]


def test_a_corrupt_archive_leaves_the_world_and_the_running_game_as_they_were(
        world: tuple[VsManager, Path, Path]) -> None:
    vsm, data, backups = world
    with vsm.client() as client:
        done = make_backup(client)
        archive = backups / done["name"]
        raw = bytearray(archive.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        archive.write_bytes(bytes(raw))
        before = (data / "Playerdata" / "playerdata.json").read_text()
        client.post(f"/backups/{done['id']}/restore", json={"confirm": "default"})
        failed = wait_job(client, done["id"], key="restore")
        assert failed["restore"]["state"] == "failed"
        assert "extracting and checking failed" in failed["restore"]["error"]
        vsm.wait_for_state("running")
        assert (data / "Playerdata" / "playerdata.json").read_text() == before
        check_invariant(data / SAVE)
        verified = client.post(f"/backups/{done['id']}/verify").json()
        assert verified["verified"] is False


def test_hostile_archives_are_refused_whole(world: tuple[VsManager, Path, Path]) -> None:
    vsm, data, backups = world
    with vsm.client() as client:
        done = make_backup(client)
        manifest = json.loads((backups / f"{done['name']}.json").read_text())
        for i, (name, kind, link) in enumerate([("../escaped", tarfile.REGTYPE, ""),
                                                ("/tmp/absolute", tarfile.REGTYPE, ""),
                                                ("Playerdata/link", tarfile.SYMTYPE, "/etc/passwd")]):
            hostile = backups / f"default-20260101T00000{i}Z.tar.zst"
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w") as tar:
                info = tarfile.TarInfo(name)
                info.type, info.linkname, info.size = kind, link, 0
                tar.addfile(info, io.BytesIO(b""))
            hostile.write_bytes(zstandard.ZstdCompressor().compress(buffer.getvalue()))
            (backups / f"{hostile.name}.json").write_text(json.dumps(manifest))
            id = hostile.name.removesuffix(".tar.zst")
            client.post(f"/backups/{id}/restore", json={"confirm": "default"})
            failed = wait_job(client, id, key="restore")
            assert failed["restore"]["state"] == "failed", name
            assert "extracting and checking" in failed["restore"]["error"]
            vsm.wait_for_state("running")
        assert not (data.parent / "escaped").exists()
        assert not (data / "Playerdata" / "link").exists()


def test_retention_over_a_run_of_backups(tmp_path: Path) -> None:
    data = tmp_path / "data"
    command = simulator_command("--dataPath", str(data), "--writes-per-second", "50")
    with run_vsmanager(command, autostart=False, backup_dir=tmp_path / "b", backup_keep_last=2,
                       backup_keep_daily=0, backup_keep_weekly=0) as vsm, vsm.client() as client:
        data.mkdir()
        (data / "serverconfig.json").write_text('{"WorldConfig": {"SaveFileLocation": "Saves/w.vcdbs"}}')
        (data / "Saves").mkdir()
        (data / "Saves" / "w.vcdbs").write_bytes(b"")
        ids = [make_backup(client)["id"] for _ in range(4)]
        assert [b["id"] for b in client.get("/backups").json()["backups"]] == ids[:-3:-1]
