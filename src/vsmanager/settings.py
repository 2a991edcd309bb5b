"""Every setting and every bound, from ``VS_*`` environment variables, validated at start."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vsmanager.keys import MIN_KEY_LENGTH as MIN_KEY_LENGTH  # where tests and docs look for it
from vsmanager.keys import weak_key_reason

ENV_PREFIX = "VS_"
VINTAGE_STORY_READY_PATTERN = r"Dedicated Server now running on Port"

PositiveSeconds = Annotated[float, Field(gt=0, le=86_400)]


class SettingsError(ValueError):
    """Settings that cannot be used; the message names each variable and a valid example."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    # Keys: Admin can do everything; Monitor only reads the server status.
    api_key_admin: SecretStr | None = None
    api_key_monitor: SecretStr | None = None

    # The game server.
    server_command: str = ""
    server_workdir: Path | None = None
    server_autostart: bool = False
    server_stop_command: str = "/stop"
    server_stop_timeout: PositiveSeconds = 60.0
    server_kill_timeout: PositiveSeconds = 10.0
    server_ready_pattern: str = VINTAGE_STORY_READY_PATTERN

    # The console buffer.
    console_buffer_lines: int = Field(10_000, ge=10, le=1_000_000)
    console_buffer_bytes: int = Field(16 * 1024 * 1024, ge=64 * 1024, le=4 * 1024**3)
    console_history_lines: int = Field(100, ge=0, le=10_000_000)
    console_max_line_bytes: int = Field(16 * 1024, ge=64, le=1024 * 1024)
    console_partial_flush_s: float = Field(0.5, gt=0, le=1.0)

    # WebSocket clients.
    ws_send_timeout: PositiveSeconds = 10.0
    ws_max_message_bytes: int = Field(64 * 1024, ge=1024, le=16 * 1024 * 1024)
    ws_frames_per_second: int = Field(4_500, ge=100, le=10_000_000)
    ws_max_batch_lines: int = Field(1_000, ge=1, le=100_000)
    ws_compression: bool = False
    ws_ping_interval: PositiveSeconds = 20.0

    # Console commands.
    command_max_chars: int = Field(1_000, ge=1, le=1_000)
    command_write_timeout: PositiveSeconds = 2.0

    # Named keys, tickets, throttling and the audit log (keys; see docs/security.md).
    keys_file: Path | None = None
    audit_log: Path | None = None
    ws_ticket_ttl: int = Field(30, ge=1, le=3600)
    ws_tickets_per_key: int = Field(16, ge=1, le=10_000)
    auth_failure_limit: int = Field(20, ge=1, le=1_000_000)
    auth_failure_window: PositiveSeconds = 60.0
    auth_cooldown: float = Field(60.0, ge=1, le=86_400)
    command_burst: int = Field(20, ge=1, le=1_000_000)
    command_rate: float = Field(5.0, gt=0, le=1_000_000)

    @field_validator("api_key_admin", "api_key_monitor", "server_workdir", "keys_file", "audit_log",
                     mode="before")
    @classmethod
    def _empty_means_unset(cls, value: object) -> object:
        # VS_API_KEY_MONITOR= in an env file means "no monitor key", not "a short key".
        return None if value == "" else value

    @field_validator("server_stop_command")
    @classmethod
    def _stop_command_is_one_line(cls, command: str) -> str:
        if command and any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in command):
            raise ValueError("must be a single line without control characters, e.g. /stop")
        return command

    @field_validator("api_key_admin", "api_key_monitor")
    @classmethod
    def _key_long_enough(cls, key: SecretStr | None) -> SecretStr | None:
        reason = None if key is None else weak_key_reason(key.get_secret_value())
        if reason is not None:
            raise ValueError(
                f"{reason} "
                "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(24))')"
            )
        return key

    @field_validator("server_command")
    @classmethod
    def _command_splits(cls, command: str) -> str:
        try:
            shlex.split(command)
        except ValueError as exc:
            raise ValueError(f"is not a valid command line ({exc})") from None
        return command

    @field_validator("server_ready_pattern")
    @classmethod
    def _pattern_compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"is not a valid regular expression ({exc})") from None
        return pattern

    @field_validator("server_workdir")
    @classmethod
    def _workdir_exists(cls, workdir: Path | None) -> Path | None:
        if workdir is not None and not workdir.is_dir():
            raise ValueError(f"{str(workdir)!r} is not a directory")
        return workdir

    @model_validator(mode="after")
    def _bounds_fit(self) -> Self:
        if self.console_max_line_bytes * 4 > self.console_buffer_bytes:
            raise ValueError(
                "VS_CONSOLE_BUFFER_BYTES must hold at least four of the longest lines "
                "(4 x VS_CONSOLE_MAX_LINE_BYTES)"
            )
        keys = (self.api_key_admin, self.api_key_monitor)
        if keys[0] and keys[1] and keys[0].get_secret_value() == keys[1].get_secret_value():
            raise ValueError("VS_API_KEY_MONITOR must differ from VS_API_KEY_ADMIN")
        return self

    @property
    def server_argv(self) -> list[str]:
        return shlex.split(self.server_command)

    @property
    def ready_regex(self) -> re.Pattern[str] | None:
        return re.compile(self.server_ready_pattern) if self.server_ready_pattern else None

    def secret_values(self) -> list[str]:
        return [k.get_secret_value() for k in (self.api_key_admin, self.api_key_monitor) if k]

    def require_serving(self) -> Self:
        """Check what ``serve`` needs beyond the types: an admin key and a command."""
        missing = []
        if self.api_key_admin is None and self.keys_file is None:
            missing.append(
                "VS_API_KEY_ADMIN is required (at least 16 characters) unless VS_KEYS_FILE names "
                "a keys file (vsmanager keys add NAME --role admin), e.g. "
                "VS_API_KEY_ADMIN=$(python -c 'import secrets; print(secrets.token_urlsafe(24))')"
            )
        if not self.server_argv:
            missing.append(
                "VS_SERVER_COMMAND is required, e.g. "
                "VS_SERVER_COMMAND='dotnet /srv/vs/VintagestoryServer.dll --dataPath /srv/vs-data'"
            )
        if missing:
            raise SettingsError("\n".join(missing))
        return self


def load_settings(**overrides: object) -> Settings:
    """Read the environment (overrides win); raise :class:`SettingsError` naming variables."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    messages = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        name = f"{ENV_PREFIX}{field.upper()}" if field else "settings"
        message = error["msg"].removeprefix("Value error, ")
        messages.append(f"{name}: {message}")
    return "\n".join(messages)
