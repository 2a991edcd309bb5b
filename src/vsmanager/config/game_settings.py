"""Settings of the game: how it is run and stopped, restarted after a crash (see
docs/reliability.md), and what its console lines mean (see docs/operations.md)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings

from vsmanager.config.fields import ENV_PREFIX, PositiveSeconds
from vsmanager.config.patterns import FACTS, Fact, PatternError, ProfileName, compile_pattern

VINTAGE_STORY_READY_PATTERN = r"Dedicated Server now running on Port"


class GameSettings(BaseSettings):
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

    # Game awareness (game, issue #11; see docs/operations.md).
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

    @field_validator("server_workdir", mode="before")
    @classmethod
    def _empty_workdir_means_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("server_stop_command")
    @classmethod
    def _stop_command_is_one_line(cls, command: str) -> str:
        if command and any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in command):
            raise ValueError("must be a single line without control characters, e.g. /stop")
        return command

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
    def _restart_delays_fit(self) -> Self:
        if self.server_restart_max_delay < self.server_restart_delay:
            raise ValueError(
                "VS_SERVER_RESTART_MAX_DELAY must be at least VS_SERVER_RESTART_DELAY "
                "(e.g. VS_SERVER_RESTART_DELAY=5 VS_SERVER_RESTART_MAX_DELAY=300)"
            )
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
