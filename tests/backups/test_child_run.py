"""The backup process as vsmanager drives it (child_run.py): its answers, its failures, and
no child left writing when the work is called off."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from harness import TIME_SCALE
from vsmanager.backups import archive, child
from vsmanager.backups.child_run import ChildFailed, ChildRun

BIG = 64 * 1024 * 1024  # incompressible: archiving it takes long enough to call it off


class Progress:
    bytes_done = 0


def write_request(tmp_path: Path, size: int) -> dict[str, object]:
    source = tmp_path / "world.bin"
    with open(source, "wb") as out:
        for _ in range(size // (1 << 20)):
            out.write(os.urandom(1 << 20))
    return {"op": "write", "target": str(tmp_path / "w.tar.zst"), "manifest": {"format": 1},
            "entries": child.encode_entries([archive.Entry("world.bin", source)])}


async def test_the_child_answers_with_the_manifest_and_reports_progress(tmp_path: Path) -> None:
    progress = Progress()
    manifest = await ChildRun(write_request(tmp_path, 8 << 20), progress).result()
    assert [f["path"] for f in manifest["files"]] == ["world.bin"]
    assert manifest["files"][0]["size"] == 8 << 20
    assert progress.bytes_done >= child.PROGRESS_EVERY
    assert (tmp_path / "w.tar.zst").stat().st_size > 0


async def test_a_bad_request_is_an_archive_error_with_the_childs_words() -> None:
    with pytest.raises(archive.ArchiveError, match="unknown operation 'melt'"):
        await ChildRun({"op": "melt"}).result()


async def test_a_failure_that_is_not_the_archive_is_a_child_failure(tmp_path: Path) -> None:
    request = write_request(tmp_path, 1 << 20)
    request["target"] = str(tmp_path / "gone" / "w.tar.zst")  # its folder is not there
    with pytest.raises(ChildFailed, match="No such file or directory"):
        await ChildRun(request).result()


async def test_called_off_it_kills_the_child_and_leaves_no_archive(tmp_path: Path) -> None:
    progress = Progress()
    run = ChildRun(write_request(tmp_path, BIG), progress)
    task = asyncio.create_task(run.result())
    deadline = asyncio.get_running_loop().time() + 30 * TIME_SCALE
    while progress.bytes_done == 0:
        assert asyncio.get_running_loop().time() < deadline and not task.done(), "no progress"
        await asyncio.sleep(0.005)
    process = run._process
    assert process is not None and process.poll() is None
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(asyncio.to_thread(process.wait), 10 * TIME_SCALE)
    assert process.returncode == -9
    assert not (tmp_path / "w.tar.zst").exists()
