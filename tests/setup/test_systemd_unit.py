"""`vsmanager systemd-unit`: what a game server's unit needs, checked by `systemd-analyze verify`."""

from __future__ import annotations

import configparser
import getpass
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vsmanager import cli
from vsmanager.game.data_folder import data_path
from vsmanager.setup.systemd_unit import SHUTDOWN_MARGIN_S, UnitFacts, render

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


# No VS_* variable from the machine running the tests leaks in (conftest.py).
pytestmark = pytest.mark.usefixtures("clean_env")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config like `vsmanager init` writes, for a server whose folders exist."""
    server, data = tmp_path / "srv" / "vs", tmp_path / "srv" / "vs-data"
    server.mkdir(parents=True)
    data.mkdir()
    (tmp_path / "admin.key").write_text(secrets.token_urlsafe(24))
    path = tmp_path / "vsmanager.toml"
    path.write_text(
        'api_key_admin_file = "admin.key"\n'
        f'server_command = "dotnet {server}/VintagestoryServer.dll --dataPath {data}"\n'
        f'[server]\nworkdir = "{server}"\nstop_timeout = 90\nkill_timeout = 15\n'
    )
    return path


def unit_for(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[str, str]:
    assert cli.main(["systemd-unit", *argv]) == 0
    out, err = capsys.readouterr()
    return out, err


def service_section(unit: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(unit)
    return parser["Service"]


def test_unit_stops_the_game_through_vsmanager(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    unit, _ = unit_for(capsys, "--config", str(config), "--user", "gamer")
    service = service_section(unit)
    assert service["KillMode"] == "mixed"
    assert service["Restart"] == "on-failure"
    assert int(service["TimeoutStopSec"]) == 90 + 2 * 15 + SHUTDOWN_MARGIN_S
    assert service["User"] == "gamer"


def test_unit_runs_this_installation_with_the_absolute_config(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(config.parent)
    unit, _ = unit_for(capsys, "--config", config.name, "--port", "9000")
    argv = service_section(unit)["ExecStart"].split()
    assert Path(argv[0]).is_absolute() and Path(argv[0]).name == "vsmanager"
    assert Path(argv[0]).parent == Path(sys.executable).parent  # this venv's, not another on PATH
    assert argv[1:4] == ["serve", "--config", str(config)]
    assert argv[-2:] == ["--port", "9000"]


def test_unit_hardens_but_leaves_the_games_folders_writable(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service = service_section(unit_for(capsys, "--config", str(config))[0])
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["PrivateTmp"] == "yes"
    writable = service["ReadWritePaths"].split()
    assert writable == [str(config.parent / "srv" / "vs"), str(config.parent / "srv" / "vs-data")]
    assert service["WorkingDirectory"] == str(config.parent / "srv" / "vs")


def test_unit_needs_a_config_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["systemd-unit"]) == 2
    assert "--config PATH" in capsys.readouterr().err


def test_unit_warns_about_variables_the_service_will_not_see(
    config: Path, clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("VS_SERVER_STOP_TIMEOUT", "5")
    _, err = unit_for(capsys, "--config", str(config), "--user", "gamer")
    assert "VS_SERVER_STOP_TIMEOUT is set here, but the service will not see it" in err


def test_data_path_is_found_in_either_spelling() -> None:
    assert data_path(["dotnet", "S.dll", "--dataPath", "/d"]) == Path("/d")
    assert data_path(["dotnet", "S.dll", "--dataPath=/e", "--port", "1"]) == Path("/e")
    assert data_path(["dotnet", "S.dll"]) is None


def test_paths_with_spaces_and_percent_are_quoted_for_systemd() -> None:
    unit = render(UnitFacts(executable=Path("/opt/vs m/bin/vsmanager"), config=Path("/etc/100%.toml"),
                            stop_timeout_s=1.5, kill_timeout_s=1, writable=[Path("/srv/my world")]))
    service = service_section(unit)
    assert service["ExecStart"].startswith('"/opt/vs m/bin/vsmanager" serve --config /etc/100%%.toml')
    assert service["ReadWritePaths"] == '"/srv/my world"'
    assert service["TimeoutStopSec"] == str(4 + SHUTDOWN_MARGIN_S)


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze missing (Debian package systemd)")
def test_systemd_analyze_verifies_the_unit(config: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    unit, _ = unit_for(capsys, "--config", str(config), "--user", getpass.getuser())
    path = tmp_path / "vsmanager.service"
    path.write_text(unit)
    done = subprocess.run([str(SYSTEMD_ANALYZE), "verify", str(path)], capture_output=True, text=True,
                          timeout=60)
    # verify exits 0 on unknown keys too, only saying so: any word from it is a fault.
    assert done.returncode == 0 and done.stderr == "" and done.stdout == "", done.stderr + done.stdout
