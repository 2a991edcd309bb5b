"""Putting a backup's files in place by rename, with the previous files kept until the new
ones are all in place, and put back if anything fails, also by the next vsmanager when this
one was killed in the middle (:func:`put_back` works from what is on disk)."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

# SQLite's companions of a save: left beside a restored save they would be replayed into it.
SAVE_COMPANIONS = ("-wal", "-shm", "-journal")


class Swap:
    """Moves each root (a file or folder relative to ``data``) from ``staged`` into ``data``;
    the current one goes to ``previous`` first. A root that had no current one is told to
    ``on_added`` *before* it moves in: that list and ``previous`` are all :func:`put_back`
    needs, here or after a restart."""

    def __init__(self, data: Path, staged: Path, previous: Path,
                 on_added: Callable[[list[str]], None] = lambda added: None) -> None:
        self.data, self.staged, self.previous = data, staged, previous
        self.on_added = on_added
        self.roots: list[str] = []
        self.added: list[str] = []

    def run(self, roots: list[str]) -> None:
        self.roots = _with_companions(self.data, roots)
        for root in self.roots:
            current, new, old = self.data / root, self.staged / root, self.previous / root
            if current.exists() or current.is_symlink():
                old.parent.mkdir(parents=True, exist_ok=True)
                os.rename(current, old)
            elif new.exists():
                self.added.append(root)
                self.on_added(list(self.added))
            if new.exists():
                current.parent.mkdir(parents=True, exist_ok=True)
                os.rename(new, current)

    def rollback(self) -> None:
        put_back(self.data, self.previous, self.roots, self.added)

    def commit(self) -> None:
        shutil.rmtree(self.previous, ignore_errors=True)


def put_back(data: Path, previous: Path, roots: list[str], added: list[str]) -> None:
    """Undo a swap from what is on disk: each root found in ``previous`` goes back (the new
    one in its place removed); each root in ``added`` (it had no previous one) is removed.
    Roots neither moved out nor added were not touched. Raises OSError if one cannot be."""
    for root in reversed(_with_companions(previous, roots)):
        current, old = data / root, previous / root
        if old.exists() or old.is_symlink():
            _remove(current)
            current.parent.mkdir(parents=True, exist_ok=True)
            os.rename(old, current)
        elif root in added:
            _remove(current)
    shutil.rmtree(previous, ignore_errors=True)


def _with_companions(data: Path, roots: list[str]) -> list[str]:
    found = list(roots)
    for root in roots:
        if root.endswith(".vcdbs"):
            found += [root + s for s in SAVE_COMPANIONS
                      if (data / (root + s)).exists() and root + s not in found]
    return found


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
