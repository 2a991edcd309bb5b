"""`vsmanager init` on a fake Vintage Story folder: the config, the key, the warnings, and a
real `vsmanager serve --config` of what it wrote (a stand-in `dotnet` runs the simulator)."""

from __future__ import annotations

import contextlib
import os
import shlex
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from harness import TIME_SCALE, free_port, stop_process
from vsmanager import cli
from vsmanager.config.settings import load_settings

FAKE_DOTNET = f"""#!/bin/sh
# Stands in for `dotnet VintagestoryServer.dll --dataPath DIR`: the built-in simulator.
exec {shlex.quote(sys.executable)} -u -m vsmanager simulate --startup-seconds 0.2 --save-seconds 0.1
"""


# No VS_* variable from the machine running the tests leaks in (conftest.py).
pytestmark = pytest.mark.usefixtures("clean_env")


@pytest.fixture
def server_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "srv" / "vintagestory"
    folder.mkdir(parents=True)
    (folder / "VintagestoryServer.dll").write_bytes(b"MZ not really")
    return folder


@pytest.fixture
def dotnet_on_path(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    dotnet = bin_dir / "dotnet"
    dotnet.write_text(FAKE_DOTNET)
    dotnet.chmod(0o755)
    clean_env.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return dotnet


def init(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["init", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_init_writes_a_config_for_the_server(tmp_path: Path, server_dir: Path, dotnet_on_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = init(capsys, str(tmp_path / "etc"), "--server-dir", str(server_dir),
                        "--data-dir", str(tmp_path / "data"))
    assert code == 0, err
    assert err == ""  # dotnet and the dll are there: nothing to warn about
    settings = load_settings(config=tmp_path / "etc" / "vsmanager.toml")
    assert settings.server_argv == [str(dotnet_on_path), str(server_dir / "VintagestoryServer.dll"),
                                    "--dataPath", str(tmp_path / "data")]
    assert settings.server_workdir == server_dir
    assert settings.backup_dir == server_dir.parent / f"{server_dir.name}-backups"
    assert settings.server_stop_command == "/stop"
    assert settings.ready_regex is not None
    assert settings.ready_regex.search("[Server Event] Dedicated Server now running on Port 42420")
    assert settings.server_autostart is True
    assert (tmp_path / "data").is_dir()  # created, so the service can make it writable


def test_init_prints_the_admin_key_once_and_keeps_it_owner_only(
    tmp_path: Path, server_dir: Path, dotnet_on_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = init(capsys, str(tmp_path / "etc"), "--server-dir", str(server_dir))
    key_file = tmp_path / "etc" / "admin.key"
    key = key_file.read_text().strip()
    assert len(key) >= 32 and out.count(key) == 1
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    settings = load_settings(config=tmp_path / "etc" / "vsmanager.toml")
    assert settings.api_key_admin_file == key_file
    assert settings.api_key_admin is not None and settings.api_key_admin.get_secret_value() == key
    assert key not in (tmp_path / "etc" / "vsmanager.toml").read_text()


def test_init_prints_the_next_steps(tmp_path: Path, server_dir: Path, dotnet_on_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = init(capsys, str(tmp_path / "etc"), "--server-dir", str(server_dir))
    config = tmp_path / "etc" / "vsmanager.toml"
    assert f"vsmanager config check --config {config}" in out
    assert f"vsmanager serve --config {config}" in out
    assert f"vsmanager systemd-unit --config {config}" in out
    assert "systemctl enable --now vsmanager" in out


def test_data_dir_defaults_beside_the_server_folder(tmp_path: Path, server_dir: Path,
                                                    dotnet_on_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    init(capsys, str(tmp_path / "etc"), "--server-dir", str(server_dir))
    argv = load_settings(config=tmp_path / "etc" / "vsmanager.toml").server_argv
    assert argv[-2:] == ["--dataPath", str(server_dir.parent / "vintagestory-data")]


def test_missing_dotnet_and_dll_are_warnings_not_errors(
    tmp_path: Path, clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    clean_env.setenv("PATH", str(tmp_path / "nothing-here"))
    code, out, err = init(capsys, str(tmp_path / "etc"), "--server-dir", str(empty))
    assert code == 0
    assert "warning: dotnet is not on PATH" in err and ".NET 8" in err
    assert f"warning: {empty / 'VintagestoryServer.dll'} not found" in err
    assert "Next steps" in out
    assert load_settings(config=tmp_path / "etc" / "vsmanager.toml").server_argv[0] == "dotnet"


def test_init_refuses_to_replace_a_config_unless_forced(
    tmp_path: Path, server_dir: Path, dotnet_on_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    init(capsys, str(tmp_path / "etc"), "--server-dir", str(server_dir))
    first_key = (tmp_path / "etc" / "admin.key").read_text()
    code, _, err = init(capsys, str(tmp_path / "etc"), "--server-dir", str(server_dir))
    assert code == 2 and "exists already" in err and "--force" in err
    assert (tmp_path / "etc" / "admin.key").read_text() == first_key
    (tmp_path / "etc" / "admin.key").chmod(0o644)
    assert init(capsys, str(tmp_path / "etc"), "--server-dir", str(server_dir), "--force")[0] == 0
    assert (tmp_path / "etc" / "admin.key").read_text() != first_key
    assert stat.S_IMODE((tmp_path / "etc" / "admin.key").stat().st_mode) == 0o600


def test_serve_runs_the_game_from_the_config_init_wrote(
    tmp_path: Path, server_dir: Path, dotnet_on_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    init(capsys, str(tmp_path / "etc"), "--server-dir", str(server_dir))
    config = tmp_path / "etc" / "vsmanager.toml"
    key = (tmp_path / "etc" / "admin.key").read_text().strip()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("VS_")}
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "vsmanager", "serve", "--config", str(config), "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        status = _wait_running(f"http://127.0.0.1:{port}", key, process, 30 * TIME_SCALE)
        assert status["state"] == "running"
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            assert client.get("/api/v1alpha1/server/status", headers={"X-API-Key": "x" * 20}).status_code == 401
    finally:
        stop_process(process)
        log.close()
    text = (tmp_path / "serve.log").read_text(errors="replace")
    assert key not in text  # the key from the file is redacted like any other


def _wait_running(url: str, key: str, process: subprocess.Popen[bytes], timeout: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    status: dict[str, object] = {}
    while time.monotonic() < deadline:
        assert process.poll() is None, f"vsmanager exited with {process.returncode}"
        with contextlib.suppress(httpx.HTTPError):
            response = httpx.get(f"{url}/api/v1alpha1/server/status", headers={"X-API-Key": key}, timeout=2)
            status = dict(response.json())
            if status.get("state") == "running":
                return status
        time.sleep(0.1)
    raise AssertionError(f"the game never ran; last status {status}")
