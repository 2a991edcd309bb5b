"""``vsmanager init`` makes a schedules file (and a notifications file) beside the config."""

from __future__ import annotations

import re
from pathlib import Path

from vsmanager.automation.store import read_file
from vsmanager.config.settings import load_settings
from vsmanager.setup.first_run import initialize


def test_init_makes_a_schedules_file_the_config_names(tmp_path: Path) -> None:
    (tmp_path / "vs").mkdir()
    run = initialize(tmp_path / "etc", tmp_path / "vs")
    settings = load_settings(config=run.config)
    assert settings.schedules_file == tmp_path / "etc" / "schedules.toml"
    assert settings.notifications_file == tmp_path / "etc" / "notifications.toml"
    assert read_file(settings.schedules_file) == []  # examples only, commented out
    text = settings.schedules_file.read_text()
    assert 'cron = "0 4 * * *"' in text
    # Uncommented, the example is a valid nightly restart.
    toml = [line[2:] for line in text.splitlines() if re.match(r"# (\[\[|\w+ = )", line)]
    settings.schedules_file.write_text("\n".join(toml))
    names = [entry.name for entry in read_file(settings.schedules_file) if entry.error is None]
    assert names == ["nightly", "save"]


def test_init_keeps_schedules_someone_made(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "schedules.toml").write_text("# mine\n")
    initialize(folder, tmp_path / "vs")
    assert (folder / "schedules.toml").read_text() == "# mine\n"
