"""What goes in a backup: the data folder, the world's save, and the files beside it."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from vsmanager.backups.archive import Entry
from vsmanager.config.settings import Settings
from vsmanager.game.data_folder import data_path

SAVE_SUFFIX = ".vcdbs"
# Folders of the data folder that go in whole (Vintage Story); the list of mods goes in as
# mods.json, the mods themselves only with VS_BACKUP_INCLUDE_MODS.
VS_FOLDERS = ("Playerdata", "ModConfig")
MODS_LIST = "mods.json"


def data_folder(settings: Settings) -> Path:
    """The game command's --dataPath, else VS_SERVER_DATA_DIR, else its working directory."""
    workdir = settings.server_workdir or Path.cwd()
    found = data_path(shlex.split(settings.server_command)) or settings.server_data_dir or workdir
    return found if found.is_absolute() else workdir / found


def is_vintage_story(settings: Settings) -> bool:
    return settings.game_profile == "vintagestory"


def save_file(data: Path) -> Path | None:
    """The save serverconfig.json names (WorldConfig.SaveFileLocation), if there is one."""
    try:
        config = json.loads((data / "serverconfig.json").read_text())
        location = Path(config["WorldConfig"]["SaveFileLocation"])
    except (OSError, ValueError, KeyError, TypeError):
        saves = sorted((data / "Saves").glob(f"*{SAVE_SUFFIX}"))
        return saves[0] if saves else None
    return location if location.is_absolute() else data / location


def world_name(data: Path) -> str:
    save = save_file(data)
    return save.name.removesuffix(SAVE_SUFFIX) if save else data.name or "world"


def copy_stands_for(settings: Settings, data: Path) -> str | None:
    """The path (relative to the data folder) the game's consistent copy stands for, and is
    archived as: Vintage Story's save, or VS_BACKUP_COPY_OF for another game."""
    if is_vintage_story(settings):
        save = save_file(data)
        return save.relative_to(data).as_posix() if save is not None else None
    return settings.backup_copy_of or None


def roots(settings: Settings, data: Path, with_copy: bool = False) -> list[str]:
    """The paths (relative to the data folder) a restore swaps in, file or folder each."""
    found: list[str] = []
    save = save_file(data) if is_vintage_story(settings) else None
    if save is not None:
        found.append(save.relative_to(data).as_posix())
        found.append("serverconfig.json")
        found += [f for f in VS_FOLDERS if (data / f).is_dir()]
        if settings.backup_include_mods and (data / "Mods").is_dir():
            found.append("Mods")
    elif (stand_in := copy_stands_for(settings, data)) and (with_copy or (data / stand_in).exists()):
        found.append(stand_in)
    found += [p for p in settings.backup_path_list if (data / p).exists() and p not in found]
    return found


def entries(settings: Settings, data: Path, copy: Path | None) -> list[Entry]:
    """The files to archive; the path the copy stands for (:func:`copy_stands_for`) read
    from ``copy`` (the game's consistent copy, a file or a folder) when there is one."""
    stand_in = copy_stands_for(settings, data) if copy is not None else None
    found: list[Entry] = []
    for root in roots(settings, data, with_copy=copy is not None):
        if root == stand_in:
            assert copy is not None
            found += _files(copy, root)
        elif (data / root).is_file():
            found.append(Entry(root, data / root))
        else:
            found += _files(data / root, root)
    if is_vintage_story(settings):
        mods = sorted(p.name for p in (data / "Mods").glob("*")) if (data / "Mods").is_dir() else []
        found.append(Entry(MODS_LIST, data=json.dumps({"mods": mods}, indent=2).encode()))
    return found


def _files(path: Path, name: str) -> list[Entry]:
    """``path`` (a file, or a folder's files, links left out) archived under ``name``."""
    if path.is_file():
        return [Entry(name, path)]
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    return [Entry(f"{name}/{f.relative_to(path).as_posix()}", f) for f in files]
