"""The two servers under test, each fed by bench/linegen.py: vsmanager and the naive baseline.

Each runs in its own session on a free loopback port; leaving the context ends its process
group and, should it have outlived its parent, the line generator too.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
import psutil

BENCH = Path(__file__).resolve().parent
ADMIN_KEY = "bench-admin-key-0123456789abcdef"
WS_PATH = "/api/v1alpha1/console/ws"
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0

Kind = Literal["vsmanager", "baseline"]


@dataclass
class Target:
    kind: Kind
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    progress_path: Path

    def ws_url(self, fmt: str) -> str:
        return f"ws://127.0.0.1:{self.port}{WS_PATH}?format={fmt}&history_lines=0"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def linegen_argv(rate: float, progress: Path, max_seconds: float) -> list[str]:
    return [sys.executable, "-u", str(BENCH / "linegen.py"), "--rate", f"{rate:g}",
            "--progress", str(progress), "--max-seconds", f"{max_seconds:g}"]


@contextlib.contextmanager
def run_target(
    kind: Kind,
    workdir: Path,
    *,
    rate: float,
    max_seconds: float,
    compression: bool = False,
    settings: Mapping[str, str] | None = None,
    pythonpath: str | None = None,
    game_args: tuple[str, ...] = (),
) -> Iterator[Target]:
    """Start one server with a line generator as its game; stop both, whatever happens.

    ``pythonpath`` runs vsmanager from another source tree (a proposed change).
    """
    port = free_port()
    progress = workdir / f"progress-{port}.json"
    log_path = workdir / f"{kind}-{port}.log"
    game = [*linegen_argv(rate, progress, max_seconds), *game_args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("VS_")}
    env["PYTHONUNBUFFERED"] = "1"
    if kind == "vsmanager":
        # A folder per game: the instance lock lives there, and a run may serve several at once.
        gamedir = workdir / f"game-{port}"
        gamedir.mkdir(exist_ok=True)
        env.update(
            VS_SERVER_WORKDIR=str(gamedir),
            VS_API_KEY_ADMIN=ADMIN_KEY,
            VS_SERVER_COMMAND=shlex.join(game),
            VS_SERVER_AUTOSTART="true",
            VS_SERVER_READY_PATTERN="",
            VS_SERVER_STOP_TIMEOUT="1",
            VS_SERVER_KILL_TIMEOUT="1",
            VS_WS_COMPRESSION="true" if compression else "false",
            # Every load client comes from 127.0.0.1: lift the per-address caps (32 each).
            VS_WS_MAX_CONNECTIONS_PER_CLIENT="100000",
            VS_HTTP_MAX_CONNECTIONS_PER_CLIENT="100000",
        )
        env.update({f"VS_{k.upper()}": v for k, v in (settings or {}).items()})
        if pythonpath:
            env["PYTHONPATH"] = pythonpath
        argv = [sys.executable, "-m", "vsmanager", "serve", "--port", str(port)]
    else:
        argv = [sys.executable, str(BENCH / "naive_server.py"), "--port", str(port),
                "--key", ADMIN_KEY, "--compression", "true" if compression else "false", "--", *game]
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    target = Target(kind, port, process, log_path, progress)
    try:
        _wait_ready(target)
        yield target
    finally:
        _stop(target)


def _wait_ready(target: Target) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if target.process.poll() is not None:
            raise RuntimeError(f"{target.kind} exited with {target.process.returncode}:\n"
                               f"{target.log_path.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            ready = httpx.get(f"http://127.0.0.1:{target.port}/readyz", timeout=1)
            if ready.status_code == 200 and target.progress_path.exists():
                return
        time.sleep(0.05)
    raise RuntimeError(f"{target.kind} not ready after {READY_TIMEOUT_S} s")


def _stop(target: Target) -> None:
    process = target.process
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(STOP_TIMEOUT_S)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5)
    _end_linegen(target.progress_path)


def _end_linegen(progress: Path) -> None:
    """vsmanager runs its game in a session of its own; make sure that one is gone too."""
    with contextlib.suppress(OSError, ValueError, psutil.Error):
        pid = int(json.loads(progress.read_text())["pid"])
        game = psutil.Process(pid)
        if any("linegen.py" in part for part in game.cmdline()):
            game.terminate()
            with contextlib.suppress(psutil.TimeoutExpired):
                game.wait(3)
            if game.is_running():
                game.kill()
