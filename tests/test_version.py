"""vsmanager says which version it is: on the command line and in /healthz."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from harness import ADMIN_KEY
from vsmanager import __version__, cli
from vsmanager.app import create_app
from vsmanager.config.settings import load_settings


def test_version_option_prints_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"vsmanager {__version__}"


def test_healthz_reports_the_version() -> None:
    settings = load_settings(api_key_admin=ADMIN_KEY, server_command="true", server_autostart=False)
    with TestClient(create_app(settings)) as client:
        health = client.get("/healthz").json()
    assert health["version"] == __version__
    assert health["status"] == "ok" and health["server"]["state"] == "stopped"
