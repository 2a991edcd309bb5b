"""Every setting and every bound, from ``VS_*`` environment variables and an optional TOML
file (:mod:`vsmanager.config.file`), validated at start. Variables override the file.

The fields and their checks live in sections, one module each (``access_settings``,
``game_settings``, ``console_settings``, ``http_settings``, ``ops_settings``,
``web_settings``); ``Settings``
combines them and adds loading, the sources' order and the checks that span sections."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Self

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from vsmanager.config.access_settings import AccessSettings
from vsmanager.config.automation_settings import AutomationSettings
from vsmanager.config.backup_settings import BackupSettings
from vsmanager.config.confinement_settings import ConfinementSettings
from vsmanager.config.console_settings import ConsoleSettings
from vsmanager.config.edge_settings import EdgeSettings
from vsmanager.config.fields import ENV_PREFIX
from vsmanager.config.file import (
    CONFIG_VARIABLE,
    ConfigFile,
    ConfigFileError,
    ConfigFileSource,
    closest_name,
    lending,
    read_config_file,
)
from vsmanager.config.game_settings import GameSettings
from vsmanager.config.http_settings import HttpSettings
from vsmanager.config.ops_settings import OpsSettings
from vsmanager.config.values import MIN_KEY_LENGTH as MIN_KEY_LENGTH  # where tests and docs look for it
from vsmanager.config.web_settings import WebSettings


class SettingsError(ValueError):
    """Settings that cannot be used; the message names each variable and a valid example."""


# Each section (a *_settings.py module) holds its fields and their validators. pydantic lists
# the fields of the last base first, so `vsmanager config example` reads bottom-up: put a
# new section at the top of this list and its settings come last.
class Settings(
    EdgeSettings,
    AutomationSettings,
    WebSettings,
    ConfinementSettings,
    BackupSettings,
    OpsSettings,
    HttpSettings,
    ConsoleSettings,
    GameSettings,
    AccessSettings,
):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

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
            settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(_describe(exc, config_file, overrides)) from None
    settings._config_path = config_file.path if config_file is not None else None
    return settings


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

