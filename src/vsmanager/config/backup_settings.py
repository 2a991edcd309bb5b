"""Settings of backups (issue #19; see docs/backups.md)."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from vsmanager.config.fields import PositiveSeconds


class BackupSettings(BaseSettings):
    backup_dir: Path | None = Field(None, description="Where backups are kept; none: backups are off.")
    server_data_dir: Path | None = Field(None, description="The game's data folder when its command has "
                                         "no --dataPath (default: its working directory).")
    backup_paths: str = Field("", description="Comma-separated paths, relative to the data folder, "
                              "backed up besides the world.")
    backup_include_mods: bool = Field(False, description="Back up the Mods/ folder's files, not only "
                                      "the list of mods.")
    backup_command: str = Field("/genbackup {name}", description="The console command that makes a "
                                "consistent copy while the game runs ({name}: the copy's name).")
    backup_done_pattern: str = Field("Backup complete!", description="Regex of the line saying "
                                     "that copy is done.")
    backup_copy: str = Field("Backups/{name}", description="Where the game puts that copy, relative "
                             "to the data folder.")
    backup_copy_of: str = Field("", description="For a game other than Vintage Story: the path, "
                                "relative to the data folder, that copy stands for (e.g. world); "
                                "it is archived and restored under this name.")
    backup_timeout: PositiveSeconds = Field(600.0, description="Seconds to wait for the done line.")
    backup_keep_last: int = Field(10, ge=0, le=10_000, description="Keep the newest N backups.")
    backup_keep_daily: int = Field(7, ge=0, le=10_000, description="Keep the newest backup of each "
                                   "of the last N days.")
    backup_keep_weekly: int = Field(4, ge=0, le=10_000, description="Keep the newest backup of each "
                                    "of the last N weeks.")

    @field_validator("backup_dir", "server_data_dir", mode="before")
    @classmethod
    def _empty_path_means_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("backup_done_pattern")
    @classmethod
    def _done_pattern_compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"is not a valid regex ({exc}), e.g. 'Backup complete!'") from None
        return pattern

    @field_validator("backup_paths")
    @classmethod
    def _paths_stay_inside(cls, paths: str) -> str:
        for path in _split(paths):
            if Path(path).is_absolute() or ".." in Path(path).parts:
                raise ValueError(f"{path!r} must be relative to the data folder, e.g. Mods,WorldEdit")
        return paths

    @field_validator("backup_copy_of")
    @classmethod
    def _copy_of_stays_inside(cls, path: str) -> str:
        path = path.strip()
        if path and (Path(path).is_absolute() or ".." in Path(path).parts or Path(path) == Path(".")):
            raise ValueError(f"{path!r} must be a path inside the data folder, e.g. world")
        return Path(path).as_posix() if path else ""

    @property
    def backup_path_list(self) -> list[str]:
        return _split(self.backup_paths)


def _split(paths: str) -> list[str]:
    return [p.strip() for p in paths.split(",") if p.strip()]
