"""The game's own consistent copy: ask for it (``VS_BACKUP_COMMAND``), wait for the line
that says it is done (``VS_BACKUP_DONE_PATTERN``), then take it (``VS_BACKUP_COPY``) out of
the data folder, refusing one that is missing or lies outside the data folder."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

from vsmanager.backups.jobs import StepFailed
from vsmanager.config.settings import Settings
from vsmanager.game.supervisor import ServerState, Supervisor

STEP = "asking the game"
RUNNING = (ServerState.STARTING, ServerState.RUNNING)


async def ask_game(supervisor: Supervisor, settings: Settings, name: str) -> None:
    """Send the backup command with ``name`` in it; return once the game says it is done."""
    feed = supervisor.feed
    pattern = re.compile(settings.backup_done_pattern)
    seq = await supervisor.send_command(settings.backup_command.format(name=name), by="backup")
    deadline = time.monotonic() + settings.backup_timeout
    while (left := deadline - time.monotonic()) > 0:
        for line in feed.buffer.read_after(seq, 1000).lines:
            seq = line.seq
            if line.stream in ("stdout", "stderr") and pattern.search(line.text):
                return
        await feed.wait(seq, feed.status_version, timeout=min(left, 1.0))
        if supervisor.state not in RUNNING:
            raise StepFailed(STEP, "the game stopped before its copy was done")
    raise StepFailed(STEP, f"no line matching {pattern.pattern!r} within "
                     f"{settings.backup_timeout:g} s (VS_BACKUP_TIMEOUT)")


def copy_path(data: Path, pattern: str, name: str) -> Path:
    """Where the game's copy is: ``pattern`` (``{name}`` filled in) relative to ``data``;
    StepFailed when that is outside the data folder, by ``..``, an absolute path or a link."""
    relative = pattern.format(name=name)
    path = data / relative
    root = data.resolve()
    if Path(relative).is_absolute() or not path.resolve().is_relative_to(root) or path.resolve() == root:
        raise StepFailed(STEP, f"VS_BACKUP_COPY names {relative!r}, which is not inside the data "
                         f"folder {data}: refused")
    return path


def take_copy(data: Path, pattern: str, name: str, scratch: Path) -> Path:
    """Move the game's copy (a file or a folder) into ``scratch``: ours now, and not left to
    fill the game's folder. StepFailed if it is not there or not inside the data folder."""
    path = copy_path(data, pattern, name)
    if path.is_symlink():
        raise StepFailed(STEP, f"the game's copy {path} is a link: refused")
    if not (path.is_file() or path.is_dir()):
        raise StepFailed(STEP, f"the game said it was done but its copy {path} is not there "
                         "(VS_BACKUP_COPY)")
    moved = scratch / path.name
    shutil.move(path, moved)
    return moved
