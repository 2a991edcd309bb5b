"""Run a real vsmanager (``python -m vsmanager serve``) on a free loopback port, for tests.

Every wait is bounded; every process started here is ended here. The process is forked from
a server that has imported vsmanager already (``forkserver.py``; ``VS_TEST_FORKSERVER=0``
starts a fresh interpreter each time instead).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

import forkserver

# What the harness needs of a vsmanager process: Popen's, or the fork server's child.
ChildProcess = subprocess.Popen[bytes] | forkserver.ForkedProcess

# One unit for every test timing; raise VS_TEST_TIME_SCALE on a slow machine.
TIME_SCALE = float(os.environ.get("VS_TEST_TIME_SCALE", "1"))
MS = 0.001 * TIME_SCALE

ADMIN_KEY = "admin-key-for-tests-0123456789"
MONITOR_KEY = "monitor-key-for-tests-987654321"

FIXTURES = Path(__file__).parent / "fixtures"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def python_command(*args: str) -> str:
    """A VS_SERVER_COMMAND running this Python unbuffered with the given arguments."""
    return shlex.join([sys.executable, "-u", *args])


def script_command(name: str, *args: str) -> str:
    """A VS_SERVER_COMMAND running one of the scripted game servers in tests/fixtures."""
    return python_command(str(FIXTURES / name), *args)


def simulator_command(*args: str) -> str:
    return python_command("-m", "vsmanager", "simulate", "--startup-seconds", "0.2",
                          "--save-seconds", "0.1", *args)


@dataclass
class VsManager:
    port: int
    process: ChildProcess
    log_path: Path
    admin_key: str = ADMIN_KEY
    monitor_key: str = MONITOR_KEY
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1alpha1"

    def ws_url(self, key: str | None = ADMIN_KEY, **query: object) -> str:
        params = dict(query)
        if key is not None:
            params["api_key"] = key
        text = "&".join(f"{k}={v}" for k, v in params.items())
        return f"ws://127.0.0.1:{self.port}/api/v1alpha1/console/ws" + (f"?{text}" if text else "")

    def client(self, key: str | None = ADMIN_KEY, timeout: float = 10.0) -> httpx.Client:
        headers = {"X-API-Key": key} if key is not None else {}
        return httpx.Client(base_url=self.api, headers=headers, timeout=timeout)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def status(self) -> dict[str, object]:
        with self.client() as client:
            return dict(client.get("/server/status").json())

    def wait_for_state(self, *states: str, timeout: float = 20.0) -> dict[str, object]:
        deadline = time.monotonic() + timeout * TIME_SCALE
        status: dict[str, object] = {}
        while time.monotonic() < deadline:
            status = self.status()
            if status["state"] in states:
                return status
            time.sleep(0.05)
        raise AssertionError(f"server never reached {states}; last status {status}")

    def history(self, **params: object) -> dict[str, object]:
        with self.client() as client:
            response = client.get("/console/history", params=params)
            response.raise_for_status()
            return dict(response.json())

    def wait_for_line(self, needle: str, timeout: float = 20.0) -> dict[str, object]:
        deadline = time.monotonic() + timeout * TIME_SCALE
        while time.monotonic() < deadline:
            for line in self.history(lines=10_000)["lines"]:  # type: ignore[union-attr]
                if needle in line["text"]:  # type: ignore[index]
                    return dict(line)  # type: ignore[arg-type]
            time.sleep(0.05)
        raise AssertionError(f"no console line containing {needle!r}")


@contextlib.contextmanager
def run_vsmanager(
    server_command: str | None = None,
    *,
    autostart: bool = True,
    extra_args: Sequence[str] = (),
    startup_timeout: float = 20.0,
    unprivileged: bool = False,
    **settings: object,
) -> Iterator[VsManager]:
    """Start ``vsmanager serve`` with VS_* settings (keyword names without the prefix)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VS_")}
    env.update(
        VS_API_KEY_ADMIN=ADMIN_KEY,
        VS_API_KEY_MONITOR=MONITOR_KEY,
        VS_SERVER_COMMAND=server_command or simulator_command(),
        VS_SERVER_AUTOSTART="true" if autostart else "false",
        VS_SERVER_STOP_TIMEOUT="5",
        VS_SERVER_KILL_TIMEOUT="2",
        # Every test client comes from 127.0.0.1: the per-address caps are tested where a test
        # sets them (test_transport, test_clients), not hit by a crowd of test clients.
        VS_HTTP_MAX_CONNECTIONS_PER_CLIENT="100000",
        VS_WS_MAX_CONNECTIONS_PER_CLIENT="100000",
        # Tests read the log as people do (a file is not a terminal, so auto would be JSON).
        VS_LOG_FORMAT="console",
        PYTHONUNBUFFERED="1",
    )
    # Each game its own working directory: the instance lock lives there, and tests run
    # several vsmanagers at once.
    workdir = None
    if "server_workdir" not in settings:
        workdir = tempfile.TemporaryDirectory(prefix="vsmanager-game-")
        env["VS_SERVER_WORKDIR"] = workdir.name
    for name, value in settings.items():
        env[f"VS_{name.upper()}"] = str(value)
    log_file = tempfile.NamedTemporaryFile(prefix="vsmanager-test-", suffix=".log", delete=False)
    log_path = Path(log_file.name)
    argv = ["serve", "--port", str(port), *extra_args]
    process: ChildProcess
    if forkserver.ENABLED and not unprivileged:
        process = forkserver.spawn(argv, env, stdout=log_file.fileno(), stderr=log_file.fileno())
    else:
        prefix = without_privileges() if unprivileged else []
        process = subprocess.Popen(
            [*prefix, sys.executable, "-m", "vsmanager", *argv],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    log_file.close()
    vsm = VsManager(port, process, log_path, env=env)
    try:
        _wait_ready(vsm, startup_timeout * TIME_SCALE)
        yield vsm
    finally:
        stop_process(process)
        with contextlib.suppress(OSError):
            log_path.unlink()
        if workdir is not None:
            workdir.cleanup()


def without_privileges() -> list[str]:
    """A command prefix that drops every capability (tests run as root in CI, and root may
    read any process's memory: the question is what a same-user, unprivileged game can do).
    The uid stays, so the files stay readable; util-linux's setpriv is on every Debian."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--bounding-set=-all", "--inh-caps=-all"]


def _wait_ready(vsm: VsManager, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if vsm.process.poll() is not None:
            raise AssertionError(f"vsmanager exited with {vsm.process.returncode}:\n{vsm.log_text()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{vsm.url}/readyz", timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise AssertionError(f"vsmanager not ready after {timeout} s:\n{vsm.log_text()}")


def stop_process(process: ChildProcess, timeout: float = 30.0) -> int | None:
    """SIGTERM, wait, SIGKILL the process group: whatever happens, nothing is left running."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5)
    return process.returncode
