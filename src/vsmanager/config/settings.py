"""Every setting and every bound, from ``VS_*`` environment variables and an optional TOML
file (:mod:`vsmanager.config.file`), validated at start. Variables override the file."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from vsmanager.config.automation_settings import AutomationSettings
from vsmanager.config.file import (
    CONFIG_VARIABLE,
    ConfigFile,
    ConfigFileError,
    ConfigFileSource,
    closest_name,
    lending,
    read_config_file,
)
from vsmanager.config.patterns import FACTS, Fact, PatternError, ProfileName, compile_pattern
from vsmanager.config.values import MIN_KEY_LENGTH as MIN_KEY_LENGTH  # where tests and docs look for it
from vsmanager.config.values import weak_key_reason

ENV_PREFIX = "VS_"
VINTAGE_STORY_READY_PATTERN = r"Dedicated Server now running on Port"
# Samples of the metrics series kept in memory at most (an hour at 5 s is 720).
MAX_METRICS_SAMPLES = 100_000

PositiveSeconds = Annotated[float, Field(gt=0, le=86_400)]


class SettingsError(ValueError):
    """Settings that cannot be used; the message names each variable and a valid example."""


class Settings(AutomationSettings, BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    # Keys: Admin can do everything; Monitor only reads the server status.
    api_key_admin: SecretStr | None = None
    api_key_monitor: SecretStr | None = None

    # Keys read from files (install): a file holding the key, instead of the key itself.
    api_key_admin_file: Path | None = None
    api_key_monitor_file: Path | None = None

    # The game server.
    server_command: str = ""
    server_workdir: Path | None = None
    server_autostart: bool = False
    server_stop_command: str = "/stop"
    server_stop_timeout: PositiveSeconds = 60.0
    server_kill_timeout: PositiveSeconds = 10.0
    server_ready_pattern: str = VINTAGE_STORY_READY_PATTERN

    # Supervision (restart policy, start-up watch): see docs/reliability.md.
    server_restart: Literal["on-crash", "never"] = "on-crash"
    server_restart_delay: PositiveSeconds = 5.0
    server_restart_max_delay: PositiveSeconds = 300.0
    server_restart_limit: int = Field(5, ge=1, le=1_000)
    server_restart_window: PositiveSeconds = 600.0
    server_ready_timeout: PositiveSeconds = 300.0

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

    # Transport and HTTP hardening (guard, issue #9): see docs/security.md.
    http_max_header_bytes: int = Field(
        16 * 1024, ge=1024, le=1024 * 1024,
        description="Request line plus headers larger than this get 431 and the connection closed.")
    http_max_body_bytes: int = Field(
        64 * 1024, ge=1024, le=64 * 1024 * 1024,
        description="Request bodies larger than this get 413 before they are read.")
    http_header_timeout: float = Field(
        5.0, gt=0, le=300,
        description="Seconds a client has to send a request's headers; then 408 and closed.")
    http_max_connections_per_client: int = Field(
        32, ge=1, le=100_000,
        description="Open connections per client address (trusted proxies exempt); more get 503.")
    ws_max_connections_per_client: int = Field(
        32, ge=1, le=100_000,
        description="Open console WebSockets per client address (behind a trusted proxy: the "
        "forwarded one); more are closed with 1013.")
    trusted_proxies: str = Field(
        "", description="Addresses or CIDR networks, comma-separated, whose X-Forwarded-For, "
        "X-Real-IP and X-Forwarded-Proto are believed (127.0.0.1 for a proxy on this host).")
    allowed_origins: str = Field(
        "", description="Web origins besides vsmanager's own whose pages may connect, "
        "comma-separated (https://console.example.com).")
    # Logging (guard, issue #11).
    log_format: Literal["auto", "json", "console"] = Field(
        "auto", description="Log lines as json or console text; auto: console on a terminal, "
        "else json.")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="The least severe level logged; --log-level overrides it.")


    # Named keys, tickets, throttling and the audit log (keys; see docs/security.md).
    keys_file: Path | None = Field(None, description=(
        "The named keys file (JSON, hashes only; edit it with `vsmanager keys`), re-read when it "
        "changes and on SIGHUP."))
    audit_log: Path | None = Field(None, description=(
        "Also write the audit trail (auth failures, commands, lifecycle actions, key changes) to "
        "this JSON-lines file, mode 0600."))
    ws_ticket_ttl: int = Field(30, ge=1, le=3600, description=(
        "Seconds a WebSocket ticket stays valid; each is good for one connection."))
    ws_tickets_per_key: int = Field(16, ge=1, le=10_000, description=(
        "Tickets one key may have outstanding; one more retires its oldest."))
    auth_failure_limit: int = Field(20, ge=1, le=1_000_000, description=(
        "Failed authentications one address may make within the window before its cool-down."))
    auth_failure_window: PositiveSeconds = Field(60.0, description=(
        "Seconds over which failed authentications are counted."))
    auth_cooldown: float = Field(60.0, ge=1, le=86_400, description=(
        "Seconds an address over the limit is refused (429 / close 4029), whatever key it sends."))
    command_burst: int = Field(20, ge=1, le=1_000_000, description=(
        "Commands one key may send at once, before the steady rate applies."))
    command_rate: float = Field(5.0, gt=0, le=1_000_000, description=(
        "Commands per second one key may send after the burst; beyond: 429 / rate_limited."))

    # Game awareness and metrics (game, issue #11; see docs/operations.md).
    game_profile: ProfileName = Field(
        "vintagestory", description="What console lines mean for the status's game facts (version, "
        "players, overloads); none reads nothing.")
    game_pattern_version: str = Field("", description="Regex with a (?P<version>...) group (and "
                                      "optionally channel) replacing the profile's version line.")
    game_pattern_join: str = Field("", description="Regex with a (?P<name>...) group: a player joins.")
    game_pattern_leave: str = Field("", description="Regex with a (?P<name>...) group: a player leaves.")
    game_pattern_list_header: str = Field("", description="Regex of the line a player list answer "
                                          "starts with.")
    game_pattern_list_entry: str = Field("", description="Regex with a (?P<name>...) group: one player "
                                         "of that list.")
    game_pattern_players: str = Field("", description="Regex with (?P<online>...) and optionally "
                                      "(?P<max>...) digits: the count of players online.")
    game_pattern_overload: str = Field("", description="Regex, optionally with a (?P<ms>...) group: "
                                       "an overloaded tick.")
    metrics_interval: float = Field(5.0, ge=0.5, le=3600, description="Seconds between resource "
                                    "samples (CPU, memory, threads of the game and vsmanager).")
    metrics_retention: float = Field(3600.0, gt=0, le=7 * 86_400, description="Seconds of resource "
                                     "samples kept in memory for GET /server/metrics.")
    metrics_public: bool = Field(False, description="Let GET /metrics be scraped without a key.")

    @field_validator("api_key_admin", "api_key_monitor", "server_workdir", "keys_file", "audit_log",
                     mode="before")
    @classmethod
    def _empty_means_unset(cls, value: object) -> object:
        # VS_API_KEY_MONITOR= in an env file means "no monitor key", not "a short key".
        return None if value == "" else value

    @field_validator("api_key_admin_file", "api_key_monitor_file", mode="before")
    @classmethod
    def _empty_file_means_unset(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="before")
    @classmethod
    def _keys_from_files(cls, data: Any) -> Any:
        # Before the fields are validated, so a key read from a file meets every check a key
        # from the environment meets (length, admin and monitor different).
        if not isinstance(data, dict):
            return data
        for role in ("admin", "monitor"):
            path = data.get(f"api_key_{role}_file")
            if path in (None, ""):
                continue
            variable = f"{ENV_PREFIX}API_KEY_{role.upper()}"
            if data.get(f"api_key_{role}") not in (None, ""):
                raise ValueError(f"set {variable} or {variable}_FILE, not both")
            data[f"api_key_{role}"] = _read_key_file(Path(str(path)), f"{variable}_FILE")
        return data

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

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        from vsmanager.config.values import parse_networks

        parse_networks(value)
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins_parse(cls, value: str) -> str:
        from vsmanager.config.values import parse_origins

        parse_origins(value)
        return value

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _lowercase(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _bounds_fit(self) -> Self:
        if self.console_max_line_bytes * 4 > self.console_buffer_bytes:
            raise ValueError(
                "VS_CONSOLE_BUFFER_BYTES must hold at least four of the longest lines "
                "(4 x VS_CONSOLE_MAX_LINE_BYTES)"
            )
        if self.server_restart_max_delay < self.server_restart_delay:
            raise ValueError(
                "VS_SERVER_RESTART_MAX_DELAY must be at least VS_SERVER_RESTART_DELAY "
                "(e.g. VS_SERVER_RESTART_DELAY=5 VS_SERVER_RESTART_MAX_DELAY=300)"
            )
        if self.metrics_retention / self.metrics_interval > MAX_METRICS_SAMPLES:
            raise ValueError(
                f"VS_METRICS_RETENTION / VS_METRICS_INTERVAL must be at most {MAX_METRICS_SAMPLES} "
                "samples, e.g. VS_METRICS_INTERVAL=5 with VS_METRICS_RETENTION=3600"
            )
        keys = (self.api_key_admin, self.api_key_monitor)
        if keys[0] and keys[1] and keys[0].get_secret_value() == keys[1].get_secret_value():
            raise ValueError("VS_API_KEY_MONITOR must differ from VS_API_KEY_ADMIN")
        return self

    @model_validator(mode="after")
    def _game_patterns_fit(self) -> Self:
        problems = []
        for fact, pattern in self.game_patterns.items():
            try:
                compile_pattern(fact, pattern)
            except PatternError as exc:
                problems.append(f"{ENV_PREFIX}GAME_PATTERN_{fact.upper()} {exc}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def server_argv(self) -> list[str]:
        return shlex.split(self.server_command)

    @property
    def ready_regex(self) -> re.Pattern[str] | None:
        return re.compile(self.server_ready_pattern) if self.server_ready_pattern else None

    @property
    def game_patterns(self) -> dict[Fact, str]:
        """The patterns set for the game profile (an unset one keeps the profile's own)."""
        return {fact: value for fact in FACTS if (value := getattr(self, f"game_pattern_{fact}"))}

    def secret_values(self) -> list[str]:
        return [k.get_secret_value() for k in (self.api_key_admin, self.api_key_monitor) if k]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # First wins: overrides given in code, then VS_* variables, then the config file.
        return init_settings, env_settings, ConfigFileSource(settings_cls)

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


# VS_* variables that are not settings of the server but are known all the same: the file
# itself, the terminal client's, and the test suite's.
OTHER_VARIABLES = frozenset({
    CONFIG_VARIABLE, "VS_URL", "VS_API_KEY", "VS_API_KEY_FILE",
    "VS_TEST_TIME_SCALE", "VS_REQUIRE_BROWSER", "VS_CHROMIUM", "VS_SOAK_SECONDS",
    "VS_UPDATE_SCREENSHOTS",
})


def load_settings(*, config: Path | str | None = None, **overrides: object) -> Settings:
    """Read the config file (``config``, else ``$VS_CONFIG``, else none), then the environment,
    then ``overrides``, each winning over the one before; raise :class:`SettingsError` naming
    the variable, or the key and file, of each bad value."""
    config_file = read_config(config)
    try:
        with lending(config_file):
            return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(_describe(exc, config_file, overrides)) from None


def read_config(config: Path | str | None = None) -> ConfigFile | None:
    """The config file named by ``config`` or ``$VS_CONFIG``, parsed; None when neither is set."""
    if config is None or config == "":
        config = os.environ.get(CONFIG_VARIABLE) or None
    if config is None:
        return None
    try:
        return read_config_file(Path(config).expanduser().absolute(), Settings.model_fields, _path_fields())
    except ConfigFileError as exc:
        raise SettingsError(str(exc)) from None


def variable_name(field: str) -> str:
    return f"{ENV_PREFIX}{field.upper()}"


def is_from_environment(field: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether a VS_* variable sets this field (names are matched in any case, as loading does)."""
    names = {name.upper() for name in (os.environ if environ is None else environ)}
    return variable_name(field) in names


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """A warning for each VS_* variable that is no setting, naming the closest valid one."""
    known = {variable_name(name) for name in Settings.model_fields} | OTHER_VARIABLES
    warnings = []
    for name in sorted(os.environ if environ is None else environ):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in known:
            continue
        best = closest_name(upper, known)
        hint = f"; did you mean {best}?" if best else " (`vsmanager config example` lists every setting)"
        warnings.append(f"{name} is not a vsmanager setting and is ignored{hint}")
    return warnings


def _path_fields() -> set[str]:
    return {name for name, info in Settings.model_fields.items() if _holds_path(info.annotation)}


def _holds_path(annotation: object) -> bool:
    if annotation is Path:
        return True
    return any(_holds_path(arg) for arg in getattr(annotation, "__args__", ()))


def _read_key_file(path: Path, variable: str) -> str:
    try:
        key = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ValueError(f"{variable}: cannot read the key from {path} ({reason})") from None
    # Checked here, not only by the key's own validator, so the message names the file.
    reason = weak_key_reason(key)
    if reason is not None:
        raise ValueError(f"{variable}: the key in {path} {reason} "
                         "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(24))')")
    return key


def _describe(exc: ValidationError, config: ConfigFile | None, overrides: Mapping[str, object]) -> str:
    messages = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        message = error["msg"].removeprefix("Value error, ")
        if not field:
            messages.append(message)  # a rule across settings names its variables itself
        elif field in overrides or is_from_environment(field) or config is None or field not in config.values:
            messages.append(f"{variable_name(field)}: {message}")
        else:
            messages.append(f"{config.where(field)}: {message}")
    return "\n".join(messages)

