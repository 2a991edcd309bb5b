"""Backups of a game other than Vintage Story: its own copy (VS_BACKUP_COPY), made on
VS_BACKUP_COMMAND and awaited by VS_BACKUP_DONE_PATTERN, is archived in place of the live
files, under VS_BACKUP_COPY_OF; a copy that is missing or outside the data folder fails."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
import zstandard
from test_backups_api import make_backup, wait_job

from harness import TIME_SCALE, run_vsmanager, script_command, simulator_command


def members(archive: Path) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    with open(archive, "rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw) as stream, \
            tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            if member.isfile():
                found[member.name] = tar.extractfile(member).read()  # type: ignore[union-attr]
    return found


def other_game(tmp_path: Path, **settings: object) -> tuple[Path, dict[str, object]]:
    data = tmp_path / "data"
    (data / "world").mkdir(parents=True)
    (data / "world" / "live-only.txt").write_text("written after the copy")  # never in the copy
    (data / "config.ini").write_text("motd=hello")
    found: dict[str, object] = dict(
        game_profile="none", server_workdir=data, backup_dir=tmp_path / "backups",
        backup_command="/backup {name}", backup_done_pattern="^Backup done", backup_copy="snapshots/{name}",
        backup_copy_of="world", backup_paths="config.ini", backup_timeout=30 * TIME_SCALE,
        server_ready_pattern="^Game running")
    found.update(settings)
    return data, found


def test_the_games_folder_copy_is_archived_in_place_of_the_live_world_and_restored(tmp_path: Path) -> None:
    data, settings = other_game(tmp_path)
    command = script_command("copying_game.py")
    with run_vsmanager(command, **settings) as vsm, vsm.client() as client:
        vsm.wait_for_state("running")
        (data / "world" / "live-only.txt").write_text("live")
        done = make_backup(client)
        assert done["state"] == "done" and done["verified"], done
        files = members(tmp_path / "backups" / done["name"])
        assert files["world/copied-by-game.txt"].decode().startswith("vsmanager-")
        assert "world/live-only.txt" in files  # the game copied it: it was there when asked
        assert files["config.ini"] == b"motd=hello"
        manifest = json.loads(files["manifest.json"])
        assert manifest["roots"] == ["world", "config.ini"]
        assert not list((data / "snapshots").iterdir())  # taken out, not left to fill the folder
        client.post("/server/stop", params={"wait": 20})
        (data / "world" / "live-only.txt").unlink()
        (data / "world" / "new-since.txt").write_text("made after the backup")
        client.post(f"/backups/{done['id']}/restore", json={"confirm": done["world"]})
        restored = wait_job(client, done["id"], key="restore")
        assert restored["restore"]["state"] == "done", restored
        assert (data / "world" / "copied-by-game.txt").is_file()
        assert (data / "world" / "live-only.txt").read_text() == "live"
        assert not (data / "world" / "new-since.txt").exists()


def test_a_file_copy_is_archived_under_the_name_it_stands_for(tmp_path: Path) -> None:
    _, settings = other_game(tmp_path, backup_copy="snapshots/{name}.txt",
                                backup_copy_of="world/state.txt", backup_paths="")
    with run_vsmanager(script_command("copying_game.py", "--as-file"), **settings) as vsm, \
            vsm.client() as client:
        vsm.wait_for_state("running")
        done = make_backup(client)
        assert done["state"] == "done", done
        files = members(tmp_path / "backups" / done["name"])
        assert set(files) == {"world/state.txt", "manifest.json"}
        assert files["world/state.txt"].decode().endswith("copied by the game\n")


@pytest.mark.parametrize(("copy", "game_args", "why"), [
    ("snapshots/{name}", ("--no-copy",), "is not there"),
    ("../outside/{name}", (), "not inside the data folder"),
    ("/tmp/{name}", (), "not inside the data folder"),
], ids=["missing", "dot-dot", "absolute"])
def test_a_copy_that_is_missing_or_outside_the_data_folder_fails_clearly(
        tmp_path: Path, copy: str, game_args: tuple[str, ...], why: str) -> None:
    _, settings = other_game(tmp_path, backup_copy=copy)
    with run_vsmanager(script_command("copying_game.py", *game_args), **settings) as vsm, \
            vsm.client() as client:
        vsm.wait_for_state("running")
        failed = make_backup(client)
        assert failed["state"] == "failed"
        assert failed["error"].startswith("asking the game failed:") and why in failed["error"], failed
        assert "VS_BACKUP_COPY" in failed["error"]
        assert client.get("/backups").json()["backups"] == []
        assert not (tmp_path / "outside").exists()
        if why != "is not there":  # refused before anything was asked of the game
            assert "/backup vsmanager-" not in json.dumps(vsm.history(limit=1000))


def test_a_vintage_story_server_without_a_world_yet_is_told_so(tmp_path: Path) -> None:
    # The Vintage Story profile with no save in the data folder (a new server still making
    # its world, or the wrong folder): not the other games' VS_BACKUP_COPY_OF advice.
    empty = tmp_path / "empty"
    empty.mkdir()
    with run_vsmanager(simulator_command(), server_workdir=empty, backup_dir=tmp_path / "backups") as vsm, \
            vsm.client() as client:
        job = make_backup(client)
    assert job["state"] == "failed"
    assert f"no world save in {empty} yet" in job["error"], job["error"]
    assert "VS_BACKUP_COPY_OF" not in job["error"]
