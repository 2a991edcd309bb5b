"""One vsmanager per world: an exclusive flock on a file in the world's folder (the game's
``--dataPath``, else its working directory), held for vsmanager's life and, through the
supervisor of last resort, for as long as a game it started may still run."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Sequence
from pathlib import Path

from vsmanager.game.data_folder import data_path

LOCK_NAME = ".vsmanager.lock"


def lock_directory(server_argv: Sequence[str], workdir: Path | None) -> Path:
    """Where the lock goes: the world's folder if the command names one that exists (two
    vsmanagers in different folders can share a world), else the game's working directory."""
    base = workdir or Path.cwd()
    world = data_path(server_argv)
    if world is not None:
        world = world if world.is_absolute() else base / world
        if world.is_dir():
            return world
    return base


class InstanceLocked(Exception):
    """Another vsmanager (or the game it left behind) holds the lock; ``holder`` is the pid
    written in the lock file ("?" if none)."""

    def __init__(self, message: str, holder: str) -> None:
        super().__init__(message)
        self.holder = holder


class InstanceLock:
    def __init__(self, directory: Path) -> None:
        self.path = directory / LOCK_NAME
        self.fd: int | None = None

    @property
    def held(self) -> bool:
        return self.fd is not None

    def acquire(self) -> None:
        """Take the lock or raise :class:`InstanceLocked` naming its holder; OSError if the
        file cannot be made at all."""
        if self.fd is not None:
            return
        # O_CLOEXEC: the game must not hold the lock (it gets fds 0-2 only); the supervisor
        # of last resort gets it on purpose.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 100, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise InstanceLocked(
                f"{self.path} is locked by vsmanager pid {holder} (or a game it started, still "
                "running): not starting a second game in this directory", holder
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None
