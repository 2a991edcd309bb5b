"""The instance lock: one holder per world folder, named to whoever is refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vsmanager.game.instance_lock import InstanceLock, InstanceLocked, lock_directory


def test_a_second_holder_is_refused_with_the_first_ones_pid(tmp_path: Path) -> None:
    first, second = InstanceLock(tmp_path), InstanceLock(tmp_path)
    first.acquire()
    with pytest.raises(InstanceLocked, match=f"locked by vsmanager pid {os.getpid()}"):
        second.acquire()
    first.release()
    second.acquire()
    assert second.held
    second.release()


def test_the_lock_outlives_its_taker_in_a_process_that_holds_a_copy(tmp_path: Path) -> None:
    lock = InstanceLock(tmp_path)
    lock.acquire()
    assert lock.fd is not None
    holder = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                              stdin=subprocess.PIPE, pass_fds=(lock.fd,))
    try:
        lock.release()
        with pytest.raises(InstanceLocked):
            InstanceLock(tmp_path).acquire()
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(10)
    InstanceLock(tmp_path).acquire()


def test_the_lock_goes_in_the_world_folder_when_the_command_names_one(tmp_path: Path) -> None:
    world = tmp_path / "data"
    world.mkdir()
    argv = ["dotnet", "VintagestoryServer.dll", "--dataPath", "data"]
    assert lock_directory(argv, tmp_path) == world
    assert lock_directory(["dotnet", "VintagestoryServer.dll", f"--dataPath={world}"], None) == world
    assert lock_directory(["dotnet", "VintagestoryServer.dll", "--dataPath", "missing"], tmp_path) \
        == tmp_path
    assert lock_directory(["game"], None) == Path.cwd()
