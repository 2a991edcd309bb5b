"""The TOML config file: every setting under its variable's name without ``VS_``, in lower case.

Keys are flat (``server_command = "..."``). A table is a prefix, so ``[server]`` holding
``command = "..."`` is ``server_command``, and ``[server.restart]`` holding ``delay = 5`` is
``server_restart_delay``; the two ways may be mixed, but a setting may be written only once.
An unknown key is an error naming the key and the closest valid one, because a misspelt
setting silently left at its default is worse than a refusal. Relative paths are relative to
the file's folder, so a config and the key file beside it can move together.

This module knows nothing of :class:`~vsmanager.settings.Settings`: it is given the names.
"""

from __future__ import annotations

import contextlib
import difflib
import tomllib
from collections.abc import Collection, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

CONFIG_VARIABLE = "VS_CONFIG"


class ConfigFileError(ValueError):
    """A config file that cannot be used; the message names the file and each bad key."""


@dataclass(frozen=True)
class ConfigFile:
    path: Path
    values: dict[str, object] = field(default_factory=dict)
    # How each setting was written in the file ("server.command"), for messages.
    spelling: dict[str, str] = field(default_factory=dict)

    def where(self, name: str) -> str:
        """Where a setting of this file is, in words: ``server.command in /etc/vs.toml``."""
        return f"{self.spelling.get(name, name)} in {self.path}"


def read_config_file(path: Path, names: Collection[str], path_names: Collection[str] = ()) -> ConfigFile:
    """Parse ``path``; ``names`` are the valid settings, ``path_names`` those holding paths."""
    try:
        with path.open("rb") as stream:
            document = tomllib.load(stream)
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot read the config file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(f"{path}: not valid TOML ({exc})") from None

    config = ConfigFile(path)
    problems = []
    for flat, dotted, value in _flatten(document, names):
        if flat not in names:
            problems.append(f"{path}: unknown setting {dotted!r}{_suggestion(flat, dotted, names)}")
        elif flat in config.values:
            problems.append(f"{path}: {dotted!r} sets {flat} again (it is already set by "
                            f"{config.spelling[flat]!r})")
        else:
            config.values[flat] = _resolved(value, path.parent) if flat in path_names else value
            config.spelling[flat] = dotted
    if problems:
        raise ConfigFileError("\n".join(problems))
    return config


# Settings sources are made per class, not per load: the one load that reads a file lends it
# to them for its duration.
_lent: ContextVar[ConfigFile | None] = ContextVar("vsmanager_config_file", default=None)


@contextlib.contextmanager
def lending(config: ConfigFile | None) -> Iterator[None]:
    """Make ``config`` the file every :class:`ConfigFileSource` reads, for this block."""
    token = _lent.set(config)
    try:
        yield
    finally:
        _lent.reset(token)


class ConfigFileSource(PydanticBaseSettingsSource):
    """The values of the file lent by :func:`lending` (none outside it), for pydantic-settings."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        config = _lent.get()
        self._values = dict(config.values) if config else {}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)


def closest_name(name: str, names: Collection[str]) -> str | None:
    matches = difflib.get_close_matches(name, list(names), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _flatten(table: Mapping[str, object], names: Collection[str], prefix: str = "",
             dotted: str = "") -> Iterator[tuple[str, str, object]]:
    for key, value in table.items():
        flat = f"{prefix}_{key}" if prefix else key
        spelled = f"{dotted}.{key}" if dotted else key
        # A table is a section unless a setting has that very name (one holding a table).
        if isinstance(value, dict) and flat not in names:
            yield from _flatten(value, names, flat, spelled)
        else:
            yield flat, spelled, value


def _suggestion(flat: str, dotted: str, names: Collection[str]) -> str:
    best = closest_name(flat, names)
    if best is None:
        return " (`vsmanager config example` lists every setting)"
    section, _, _ = dotted.rpartition(".")
    prefix = section.replace(".", "_") + "_"
    if section and best.startswith(prefix):
        return f"; did you mean {best.removeprefix(prefix)!r} in [{section}] ({best})?"
    return f"; did you mean {best!r}?"


def _resolved(value: object, folder: Path) -> object:
    if isinstance(value, str) and value:
        return str(folder / Path(value).expanduser())
    return value
