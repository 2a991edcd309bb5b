"""``vsmanager backup …`` against a real vsmanager whose simulated game keeps a real save."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from test_cli_remote_console import Cli

from harness import MONITOR_KEY, run_vsmanager, simulator_command


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    return Cli(capsys, monkeypatch, tmp_path)


def test_backup_commands_create_list_verify_download_restore_delete(cli: Cli, tmp_path: Path) -> None:
    data, backups = tmp_path / "data", tmp_path / "backups"
    command = simulator_command("--dataPath", str(data), "--writes-per-second", "100")
    with run_vsmanager(command, backup_dir=backups) as vsm:
        vsm.wait_for_state("running")
        code, out, err = cli(vsm.url, "backup", "create")
        assert code == 0, err
        id = out.split(":")[0]
        assert out.strip().endswith("verified")
        code, out, _ = cli(vsm.url, "backup", "list", key=MONITOR_KEY)
        assert code == 0 and id in out and "verified" in out
        assert cli(vsm.url, "backup", "verify", id)[0] == 0
        target = tmp_path / "copy.tar.zst"
        code, out, err = cli(vsm.url, "backup", "download", id, "-o", str(target))
        assert code == 0, err
        assert hashlib.sha256(target.read_bytes()).hexdigest() in out
        assert target.read_bytes() == next(backups.glob(f"{id}.tar.zst")).read_bytes()
        code, _, err = cli(vsm.url, "backup", "restore", id, "--confirm", "wrong")
        assert code != 0 and "restoring needs {\"confirm\": \"default\"}" in err
        code, out, err = cli(vsm.url, "backup", "restore", id, "--confirm", "default")
        assert code == 0, err
        vsm.wait_for_state("running")
        code, _, err = cli(vsm.url, "backup", "delete", id)
        assert code == 0, err
        assert id not in cli(vsm.url, "backup", "list")[1]
