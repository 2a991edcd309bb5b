"""`vsmanager systemd-unit`: what a game server's unit needs, checked by `systemd-analyze verify`."""

from __future__ import annotations

import configparser
import getpass
import re
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
    # systemd's SIGTERM to vsmanager alone, and nothing more, even when vsmanager dies: the
    # game and its supervisor of last resort are left to finish the save (tests/deploy).
    assert service["KillMode"] == "process"
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


def test_reload_sends_sighup_to_vsmanager_alone(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    service = service_section(unit_for(capsys, "--config", str(config))[0])
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"


def test_hardening_leaves_the_jit_alone_and_hides_home(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service = service_section(unit_for(capsys, "--config", str(config), "--user", "gamer")[0])
    assert "MemoryDenyWriteExecute" not in service  # .NET's JIT writes the code it runs
    assert service["CapabilityBoundingSet"] == ""
    # As root, vsmanager may start the game as another user (server_user): root keeps its
    # capabilities.
    as_root = service_section(unit_for(capsys, "--config", str(config))[0])
    assert "CapabilityBoundingSet" not in as_root
    assert service["PrivateDevices"] == "yes"
    assert service["RestrictAddressFamilies"].split() == ["AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"]
    if not Path(sys.executable).resolve().is_relative_to("/root") and not str(config).startswith("/home"):
        assert service["ProtectHome"] == "yes"


@pytest.mark.parametrize("where", ["executable", "runtime", "workdir"])
def test_a_home_folder_in_use_stays_readable(where: str) -> None:
    home, elsewhere = Path("/home/gamer/vs"), Path("/srv/vs")
    facts = UnitFacts(
        executable=home / "bin" / "vsmanager" if where == "executable" else elsewhere / "vsmanager",
        runtime=(home / "python3",) if where == "runtime" else (),
        config=elsewhere / "vsmanager.toml", stop_timeout_s=1, kill_timeout_s=1,
        workdir=home if where == "workdir" else elsewhere,
    )
    assert service_section(render(facts))["ProtectHome"] == "read-only"
    away = UnitFacts(executable=elsewhere / "vsmanager", config=elsewhere / "vsmanager.toml",
                     stop_timeout_s=1, kill_timeout_s=1, workdir=elsewhere)
    assert service_section(render(away))["ProtectHome"] == "yes"


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze missing (Debian package systemd)")
def test_systemd_analyze_security_rates_the_unit_at_most_3_5(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The unit of main before this hardening rated 7.8 ("EXPOSED"); tests/deploy rates the
    # running unit too.
    unit, _ = unit_for(capsys, "--config", str(config), "--user", "vintagestory")
    path = tmp_path / "vsmanager.service"
    path.write_text(unit)
    done = subprocess.run([str(SYSTEMD_ANALYZE), "security", "--offline=yes", "--no-pager", str(path)],
                          capture_output=True, text=True, timeout=60)
    found = re.search(r"Overall exposure level for \S+: ([\d.]+)", done.stdout)
    assert found is not None, done.stdout + done.stderr
    assert float(found.group(1)) <= 3.5, done.stdout
