"""Verify is one of the jobs that run one at a time: while it reads an archive back, a new
backup, a restore or another verify gets 409, and a verify asked for while a backup runs
gets 409 too (API and CLI)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from test_backups_api import make_backup, wait_job
from test_backups_other_game import other_game

from harness import ADMIN_KEY, TIME_SCALE, VsManager, run_vsmanager, script_command, simulator_command

BIG = 64 * 1024 * 1024  # incompressible: reading it back takes long enough to be seen


@pytest.fixture
def stopped_world(tmp_path: Path) -> Iterator[tuple[VsManager, httpx.Client]]:
    data = tmp_path / "data"
    (data / "Playerdata").mkdir(parents=True)
    (data / "Playerdata" / "big.bin").write_bytes(os.urandom(BIG))
    command = simulator_command("--dataPath", str(data))
    with run_vsmanager(command, autostart=False, backup_dir=tmp_path / "backups") as vsm, \
            vsm.client(timeout=60 * TIME_SCALE) as client:
        yield vsm, client


def cli(vsm: VsManager, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VS_URL": vsm.url, "VS_API_KEY": ADMIN_KEY}
    return subprocess.run([sys.executable, "-m", "vsmanager", *args], env=env, capture_output=True,
                          text=True, timeout=60 * TIME_SCALE, check=False)


def held_verify(vsm: VsManager, done: threading.Event) -> psutil.Process | None:
    """The verify's child process (backups/child.py), stopped with SIGSTOP as soon as it is
    seen; None if the verify ended first. Held, the verify is surely running while the test
    asks, however slowly a loaded machine lets the test run."""
    deadline = time.monotonic() + 30 * TIME_SCALE
    while not done.is_set():
        assert time.monotonic() < deadline, "the verify's child never started"
        for child in psutil.Process(vsm.process.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if "vsmanager.backups.child" in child.cmdline():
                    child.suspend()
                    return child
        time.sleep(0.002)
    return None


def test_while_a_verify_runs_backup_restore_and_verify_get_409(
        stopped_world: tuple[VsManager, httpx.Client]) -> None:
    vsm, client = stopped_world
    first = make_backup(client)
    for _attempt in range(5):  # the verify may end before its child is caught: again
        answers: list[httpx.Response] = []
        done = threading.Event()

        def verify(answers: list[httpx.Response] = answers, done: threading.Event = done) -> None:
            with vsm.client(timeout=60 * TIME_SCALE) as own:
                answers.append(own.post(f"/backups/{first['id']}/verify"))
            done.set()

        worker = threading.Thread(target=verify)
        worker.start()
        held = held_verify(vsm, done)
        try:
            if held is not None:
                assert client.get("/backups").json()["busy"] == first["id"]
                for refused in (client.post("/backups"),
                                client.post(f"/backups/{first['id']}/restore",
                                            json={"confirm": first["world"]}),
                                client.post(f"/backups/{first['id']}/verify")):
                    assert refused.status_code == 409, refused.text
                    assert refused.json()["code"] == "backup_busy"
                    assert f"a verify ({first['id']}) is running" in refused.json()["message"]
        finally:
            if held is not None:
                with contextlib.suppress(psutil.Error):
                    held.resume()
            worker.join(60 * TIME_SCALE)
        assert answers[0].status_code == 200 and answers[0].json()["verified"] is True
        if held is not None:
            break
    else:
        raise AssertionError("every verify ended before its child could be held")
    assert client.post("/backups").status_code == 202  # free again


def test_a_verify_asked_for_while_a_backup_runs_gets_409_from_the_api_and_the_cli(tmp_path: Path) -> None:
    # The game holds its copy until told: the backup is surely running meanwhile. The CLI's
    # start alone can take seconds on a loaded machine: the backup waits for it, not 10 s.
    _, settings = other_game(tmp_path, backup_timeout=120 * TIME_SCALE)
    go = tmp_path / "go"
    command = script_command("copying_game.py", "--hold-until", str(go))
    with run_vsmanager(command, autostart=False, **settings) as vsm, vsm.client() as client:
        first = make_backup(client)  # the game stopped: its files as they are
        client.post("/server/start")
        vsm.wait_for_state("running")
        second: dict[str, Any] = client.post("/backups").json()
        refused = client.post(f"/backups/{first['id']}/verify")
        assert refused.status_code == 409 and refused.json()["code"] == "backup_busy"
        assert f"a backup ({second['id']}) is running" in refused.json()["message"]
        run = cli(vsm, "backup", "verify", first["id"])
        assert run.returncode != 0 and "one at a time" in run.stderr, run
        assert client.get(f"/backups/{second['id']}").json()["step"] == "asking the game"
        go.touch()
        assert wait_job(client, second["id"])["state"] == "done"
        assert client.post(f"/backups/{first['id']}/verify").json()["verified"] is True
