"""Settings of the game's confinement: what it may touch, and whose user it runs as
(docs/security.md, "The game cannot become an admin")."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

from pydantic import Field, PrivateAttr, field_validator
from pydantic_settings import BaseSettings


class ConfinementSettings(BaseSettings):
    game_confine: bool = Field(True, description=(
        "Confine the game with Landlock: it may read the system and write only its working "
        "directory, its --dataPath and temporary folders, and never touch vsmanager's key, keys, "
        "config or audit files. Needs Linux 5.13 or later; without it the game runs unconfined "
        "and vsmanager warns game_confinement_unavailable."))
    game_readable_paths: str = Field("", description=(
        "More folders or files the confined game may read, absolute, separated by ':' "
        "(e.g. /srv/shared-mods)."))
    game_writable_paths: str = Field("", description=(
        "More folders the confined game may write, absolute, separated by ':' (e.g. /srv/backups)."))
    game_hidden_paths: str = Field("", description=(
        "More files the game must not read or write, besides vsmanager's key, keys, config and "
        "audit files, absolute, separated by ':' (e.g. the EnvironmentFile holding VS_API_KEY_*)."))
    server_user: str = Field("", description=(
        "Run the game as this user (name or uid), with its groups; needs vsmanager to run as "
        "root (or with CAP_SETUID and CAP_SETGID). Empty: vsmanager's own user."))

    # Where the settings were read from (set by load_settings): the game must not read it.
    _config_path: Path | None = PrivateAttr(None)

    @field_validator("game_readable_paths", "game_writable_paths", "game_hidden_paths")
    @classmethod
    def _absolute_paths(cls, value: str) -> str:
        for part in split_paths(value):
            if not part.is_absolute():
                raise ValueError(f"{str(part)!r} is not an absolute path, e.g. /srv/shared-mods")
        return value

    @field_validator("server_user")
    @classmethod
    def _user_exists(cls, value: str) -> str:
        value = value.strip()
        if value:
            game_user(value)
        return value

    @property
    def config_path(self) -> Path | None:
        return self._config_path

    def hidden_paths(self) -> list[Path]:
        """Every file the game must not touch: each grants access, or names one that does."""
        named: list[Path | None] = [
            getattr(self, name, None)
            for name in ("api_key_admin_file", "api_key_monitor_file", "keys_file", "audit_log",
                         # webhook URLs and secrets, and what the game's server is told to do
                         "notifications_file", "schedules_file")
        ]
        named.append(self._config_path)
        return [p for p in named if p is not None] + split_paths(self.game_hidden_paths)


def split_paths(value: str) -> list[Path]:
    return [Path(part) for part in value.split(os.pathsep) if part.strip()]


def game_user(spec: str) -> pwd.struct_passwd:
    """The user a name or uid names; ValueError naming it if there is none."""
    try:
        return pwd.getpwuid(int(spec)) if spec.isdigit() else pwd.getpwnam(spec)
    except KeyError:
        raise ValueError(f"there is no user {spec!r} on this system (see /etc/passwd)") from None
