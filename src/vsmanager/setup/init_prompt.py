"""``vsmanager init`` without its arguments: on a terminal it asks for them, defaults shown;
elsewhere (a script, a pipe) it says what a complete command looks like and fails."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from vsmanager.setup.first_run import SERVER_DLL, default_data_dir

# Where a packaged server usually lives; what the example and the prompt's defaults say.
SYSTEM_CONFIG_DIR = Path("/etc/vsmanager")
SYSTEM_SERVER_DIR = Path("/srv/vintagestory")
EXAMPLE = f"vsmanager init {SYSTEM_CONFIG_DIR} --server-dir {SYSTEM_SERVER_DIR}"


class InitCancelled(Exception):
    """The user left the questions (Ctrl+C, Ctrl+D)."""


@dataclass(frozen=True)
class InitAnswers:
    folder: Path
    server_dir: Path
    data_dir: Path | None


def missing_arguments_message(missing: list[str]) -> str:
    return (f"init needs {' and '.join(missing)}; for example:\n"
            f"  {EXAMPLE}\n"
            "  (--data-dir PATH sets the game's --dataPath; default: beside the server folder)\n"
            "On a terminal, `vsmanager init` alone asks for them.")


def default_folder() -> Path:
    """/etc/vsmanager for root, else the user's own config folder."""
    if os.geteuid() == 0:
        return SYSTEM_CONFIG_DIR
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "vsmanager"


def default_server_dir(cwd: Path | None = None) -> Path:
    """The current folder when it holds the server, else the usual place."""
    here = cwd or Path.cwd()
    return here if (here / SERVER_DLL).is_file() else SYSTEM_SERVER_DIR


def ask(folder: Path | None, server_dir: Path | None, data_dir: Path | None,
        read: Callable[[str], str] = input, out: TextIO | None = None) -> InitAnswers:
    """Ask for what the command line left out; Enter takes the default in brackets."""
    stream = out or sys.stdout
    stream.write("vsmanager init writes a config file and an admin key for a Vintage Story "
                 "server.\nPress Enter to take the value in brackets.\n")
    stream.flush()
    try:
        if folder is None:
            folder = _ask_path(read, "Folder for the config and the key", default_folder())
        if server_dir is None:
            server_dir = _ask_path(read, f"Folder holding {SERVER_DLL}", default_server_dir())
        if data_dir is None:
            data_dir = _ask_path(read, "The game's data folder (worlds, mods, logs)",
                                 default_data_dir(server_dir.expanduser().absolute()))
    except (EOFError, KeyboardInterrupt):
        stream.write("\n")
        raise InitCancelled from None
    return InitAnswers(folder, server_dir, data_dir)


def _ask_path(read: Callable[[str], str], question: str, default: Path) -> Path:
    answer = read(f"{question} [{default}]: ").strip()
    return Path(answer) if answer else default
