"""`vsmanager demo` as a newcomer runs it: the terminal command it prints works as printed
(from a shell without the venv on PATH), and running the demo again points at the running
one, with the keys that work on it."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness import TIME_SCALE, free_port, stop_process
from vsmanager.setup import demo_state


@dataclass
class Demo:
    process: subprocess.Popen[str]
    port: int
    banner: str
    env: dict[str, str]
    cwd: Path

    def field(self, name: str) -> str:
        match = re.search(rf"^  {name} +(.+)$", self.banner, re.MULTILINE)
        assert match is not None, self.banner
        return match[1]


def launcher() -> list[str]:
    script = Path(sys.executable).with_name("vsmanager")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "vsmanager"]


def demo_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VS_")}
    # A newcomer's shell: the checkout's .venv/bin is not on PATH.
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env.update(XDG_CONFIG_HOME=str(tmp_path / "config"), VS_LOG_FORMAT="console")
    # The demo's world and backups go in a temporary folder: here, to be looked at.
    (tmp_path / "tmp").mkdir(exist_ok=True)
    env["TMPDIR"] = str(tmp_path / "tmp")
    return env


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    port = free_port()
    env = demo_env(tmp_path)
    process = subprocess.Popen([*launcher(), "demo", "--port", str(port)], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               start_new_session=True)
    try:
        assert process.stdout is not None
        banner = "".join(iter_until(process.stdout, "Press Ctrl+C"))
        wait_ready(port)
        yield Demo(process, port, banner, env, tmp_path)
    finally:
        stop_process(process)
        if process.stdout is not None:
            process.stdout.close()


def iter_until(stream: object, needle: str) -> Iterator[str]:
    for line in stream:  # type: ignore[attr-defined]
        yield line
        if needle in line:
            return


def wait_ready(port: int) -> None:
    deadline = time.monotonic() + 30 * TIME_SCALE
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError("the demo never got ready")


def test_the_printed_terminal_command_works_as_printed(demo: Demo) -> None:
    command = demo.field("terminal")
    assert command.endswith(" console") and "<" not in command  # no placeholder to replace
    assert f"VS_API_KEY={demo.field('admin key')} " in command
    # As pasted into a shell, with one option that makes it print and end.
    result = subprocess.run(["bash", "-c", f"{command} --tail 3 --no-follow"], env=demo.env,
                            cwd=demo.cwd, capture_output=True, text=True,
                            timeout=60 * TIME_SCALE)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3


def test_a_second_demo_points_at_the_running_one(demo: Demo) -> None:
    again = subprocess.run([*launcher(), "demo", "--port", str(demo.port)], env=demo.env,
                           cwd=demo.cwd, capture_output=True, text=True, timeout=60 * TIME_SCALE)
    assert again.returncode == 0, again.stderr
    assert f"already running (pid {demo.process.pid})" in again.stdout
    assert "Address already in use" not in again.stdout + again.stderr
    admin = demo.field("admin key")
    assert f"  admin key     {admin}\n" in again.stdout  # the same keys, not new ones
    status = httpx.get(f"http://127.0.0.1:{demo.port}/api/v1alpha1/server/status",
                       headers={"X-API-Key": admin}, timeout=10)
    assert status.status_code == 200
    assert demo.process.poll() is None  # and the first one still runs


def test_the_note_is_private_and_goes_with_the_demo(demo: Demo) -> None:
    note = demo.cwd / "config" / "vsmanager" / f"demo-{demo.port}.json"
    assert note.stat().st_mode & 0o077 == 0
    demo.process.send_signal(2)
    demo.process.wait(30 * TIME_SCALE)
    assert not note.exists()


def test_a_port_taken_by_something_else_is_said_plainly(tmp_path: Path) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        result = subprocess.run([*launcher(), "demo", "--port", str(port)],
                                env=demo_env(tmp_path), cwd=tmp_path, capture_output=True,
                                text=True, timeout=60 * TIME_SCALE)
    assert result.returncode == 1
    assert result.stdout == ""  # no keys printed for a demo that does not run
    assert f"http://127.0.0.1:{port} is taken by another program" in result.stderr
    assert f"vsmanager demo --port {port + 1}" in result.stderr


def test_a_stale_note_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    dead = subprocess.Popen(["true"])
    dead.wait()
    demo_state.write_record(demo_state.DemoRecord(dead.pid, "http://x", "k", "m"), 9)
    assert demo_state.read_record(9) is None


def test_demo_env_points_the_terminal_client_at_the_running_demo(demo: Demo) -> None:
    vsmanager = shlex.join(launcher())
    script = (f'eval "$({vsmanager} demo --port {demo.port} --env)" && '
              f"{vsmanager} console --tail 2 --no-follow")
    result = subprocess.run(["bash", "-c", script], env=demo.env, cwd=demo.cwd,
                            capture_output=True, text=True, timeout=60 * TIME_SCALE)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2


def test_demo_env_without_a_demo_says_so(tmp_path: Path) -> None:
    result = subprocess.run([*launcher(), "demo", "--port", str(free_port()), "--env"],
                            env=demo_env(tmp_path), cwd=tmp_path, capture_output=True, text=True,
                            timeout=60 * TIME_SCALE)
    assert result.returncode == 1 and result.stdout == ""
    assert "no demo of yours runs on port" in result.stderr


def test_the_demo_backs_up_and_restores_its_world_and_takes_it_away(demo: Demo) -> None:
    # A newcomer can try backups at once: the simulated world is a real SQLite save in a
    # folder of the demo's own, with the backups beside it, both gone when it stops.
    assert demo.field("backups") == "in a temporary folder, gone when the demo stops"
    scratch = list((demo.cwd / "tmp").glob("vsmanager-demo-*"))
    assert len(scratch) == 1
    deadline = time.monotonic() + 60 * TIME_SCALE
    while not list(scratch[0].glob("data/Saves/*.vcdbs")):  # the simulator makes its world
        assert time.monotonic() < deadline, "the demo's world was never made"
        time.sleep(0.05)
    api = f"http://127.0.0.1:{demo.port}/api/v1alpha1"
    with httpx.Client(base_url=api, headers={"X-API-Key": demo.field("admin key")}, timeout=10) as client:
        id = client.post("/backups").json()["id"]
        backup = wait_for(client, f"/backups/{id}", lambda job: job["state"] != "running")
        assert backup["state"] == "done" and backup["verified"], backup.get("error")
        assert client.post(f"/backups/{id}/restore", json={"confirm": backup["world"]}).status_code == 202
        restored = wait_for(client, f"/backups/{id}", lambda job: job["restore"]["state"] != "running")
        assert restored["restore"]["state"] == "done", restored
        assert client.get("/server/status").json()["state"] in ("starting", "running")
    demo.process.send_signal(2)
    demo.process.wait(30 * TIME_SCALE)
    assert not scratch[0].exists()


def wait_for(client: httpx.Client, path: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + 60 * TIME_SCALE
    while True:
        answer = client.get(path).json()
        if done(answer):
            return answer
        assert time.monotonic() < deadline, answer
        time.sleep(0.1)
