"""``vsmanager init``: a config file and an admin key for a Vintage Story server, in one step."""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import textwrap
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from vsmanager import __version__
from vsmanager.config.game_settings import VINTAGE_STORY_READY_PATTERN
from vsmanager.setup.config_text import toml_value

CONFIG_NAME = "vsmanager.toml"
KEY_NAME = "admin.key"
SCHEDULES_NAME = "schedules.toml"
NOTIFICATIONS_NAME = "notifications.toml"
SCHEDULES_TEXT = """\
# vsmanager schedules (docs/automation.md), re-read when this file changes. Edit it here, or
# with `vsmanager schedule add|remove|pause|resume` or the web page (which rewrite the file
# without its comments). Take the # off an example to use it.

# [[schedules]]
# name = "nightly"
# cron = "0 4 * * *"
# timezone = "Europe/Berlin"
# action = "restart"
# warn = ["15m", "5m", "1m"]
# when_players = "wait"
# max_wait = "1h"

# [[schedules]]
# name = "save"
# every = "30m"
# action = "command"
# commands = ["/autosavenow"]
"""
NOTIFICATIONS_TEXT = """\
# vsmanager notifications (docs/automation.md), re-read when this file changes.
# Take the # off and put your Discord webhook's URL in discord.url (readable by vsmanager only).

# [[notifications]]
# name = "discord"
# kind = "discord"
# url_file = "discord.url"
# events = ["crashed", "gave_up", "schedule_run", "backup_failed"]
"""
SERVER_DLL = "VintagestoryServer.dll"
KEY_FILE_MODE = 0o600


class InitError(Exception):
    """``init`` cannot write what it must (an existing config, an unwritable folder)."""


@dataclass
class FirstRun:
    config: Path
    key_file: Path
    admin_key: str
    server_command: list[str]
    warnings: list[str] = field(default_factory=list)


def default_data_dir(server_dir: Path) -> Path:
    """Beside the server's folder, so that replacing the server on upgrade leaves the world."""
    return server_dir.parent / f"{server_dir.name}-data"


def initialize(folder: Path, server_dir: Path, data_dir: Path | None = None, *,
               force: bool = False) -> FirstRun:
    folder, server_dir = folder.expanduser().absolute(), server_dir.expanduser().absolute()
    data_dir = (data_dir.expanduser().absolute() if data_dir else default_data_dir(server_dir))
    config, key_file = folder / CONFIG_NAME, folder / KEY_NAME
    for path in (config, key_file):
        if path.exists() and not force:
            raise InitError(f"{path} exists already: keep it, or pass --force to replace it")

    warnings = []
    dotnet = shutil.which("dotnet")
    if dotnet is None:
        warnings.append("dotnet is not on PATH: install the .NET 8 runtime (the game needs it); "
                        "the command says `dotnet` until then")
    if not (server_dir / SERVER_DLL).is_file():
        warnings.append(f"{server_dir / SERVER_DLL} not found: unpack the Vintage Story server "
                        f"into {server_dir}")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        warnings.append(f"cannot create the data folder {data_dir} ({exc.strerror}): create it, "
                        "writable by the user who runs the game")

    command = [dotnet or "dotnet", str(server_dir / SERVER_DLL), "--dataPath", str(data_dir)]
    admin_key = secrets.token_urlsafe(24)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _write_secret(key_file, admin_key + "\n")
        config.write_text(_config_text(key_file, command, server_dir), encoding="utf-8")
        for name, text in ((SCHEDULES_NAME, SCHEDULES_TEXT), (NOTIFICATIONS_NAME, NOTIFICATIONS_TEXT)):
            if not (folder / name).exists():  # never over the schedules someone made
                (folder / name).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InitError(f"cannot write into {folder} ({exc.strerror})") from None
    return FirstRun(config, key_file, admin_key, command, warnings)


def next_steps(run: FirstRun) -> str:
    config = shlex.quote(str(run.config))
    return f"""\
Next steps:
  1. Check the configuration:
       vsmanager config check --config {config}
  2. Try it (Ctrl+C stops it and the game):
       vsmanager serve --config {config}
     then open http://127.0.0.1:8080/ and sign in with the admin key.
  3. Run it as a service, as the user who owns the game's folders:
       vsmanager systemd-unit --config {config} --user USER > vsmanager.service
       sudo cp vsmanager.service /etc/systemd/system/
       sudo systemctl daemon-reload && sudo systemctl enable --now vsmanager
  4. To reach it from elsewhere, put a reverse proxy with TLS in front (docs/deploy.md)."""


def _write_secret(path: Path, text: str) -> None:
    # Created 0600 from the first byte, never readable by others even for an instant.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, KEY_FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        os.fchmod(stream.fileno(), KEY_FILE_MODE)  # an existing file keeps its mode otherwise
        stream.write(text)


def _config_text(key_file: Path, command: list[str], server_dir: Path) -> str:
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    settings = [
        ("The Admin key, in a file only its owner can read.", "api_key_admin_file", str(key_file)),
        ("The game: Vintage Story's dedicated server, on the .NET runtime.", "server_command",
         shlex.join(command)),
        (None, "server_workdir", str(server_dir)),
        ("Start the game when vsmanager starts.", "server_autostart", True),
        ("How the game is stopped: its own /stop saves the world; after server_stop_timeout "
         "seconds SIGTERM, after server_kill_timeout more SIGKILL.", "server_stop_command", "/stop"),
        (None, "server_stop_timeout", 60.0),
        (None, "server_kill_timeout", 10.0),
        ("The line after which the server takes players.", "server_ready_pattern",
         VINTAGE_STORY_READY_PATTERN),
        ("Backups (docs/backups.md): beside the server and its data, kept 10 last, 7 daily, 4 weekly.",
         "backup_dir", str(server_dir.parent / f"{server_dir.name}-backups")),
        ("Nightly restarts, saves, commands on a timer (docs/automation.md).", "schedules_file",
         SCHEDULES_NAME),
        ("Discord, Slack or webhook messages when the game crashes, and more.", "notifications_file",
         NOTIFICATIONS_NAME),
    ]
    lines = [
        f"# vsmanager configuration for the Vintage Story server in {server_dir},",
        f"# written by `vsmanager init` (vsmanager {__version__}) on {today}.",
        "# Every setting and its default: `vsmanager config example`; VS_* variables override",
        "# this file. Check it with `vsmanager config check --config <this file>`.",
    ]
    for comment, name, value in settings:
        if comment:
            lines += ["", *textwrap.wrap(comment, 92, initial_indent="# ", subsequent_indent="# ")]
        lines.append(f"{name} = {toml_value(value)}")
    return "\n".join(lines) + "\n"
