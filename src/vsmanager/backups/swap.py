"""Putting a backup's files in place by rename, with the previous files kept until the new
ones are all in place, and put back if anything fails."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

# SQLite's companions of a save: left beside a restored save they would be replayed into it.
SAVE_COMPANIONS = ("-wal", "-shm", "-journal")


class Swap:
    """Moves each root (a file or folder relative to ``data``) from ``staged`` into ``data``;
    the current one goes to ``previous`` first. ``rollback`` undoes what was done."""

    def __init__(self, data: Path, staged: Path, previous: Path) -> None:
        self.data, self.staged, self.previous = data, staged, previous
        self.moved: list[str] = []

    def run(self, roots: list[str]) -> None:
        for root in _with_companions(self.data, roots):
            current, new, old = self.data / root, self.staged / root, self.previous / root
            if current.exists() or current.is_symlink():
                old.parent.mkdir(parents=True, exist_ok=True)
                os.rename(current, old)
            self.moved.append(root)
            if new.exists():
                current.parent.mkdir(parents=True, exist_ok=True)
                os.rename(new, current)

    def rollback(self) -> None:
        for root in reversed(self.moved):
            current, old = self.data / root, self.previous / root
            if old.exists() or old.is_symlink():
                _remove(current)
                os.rename(old, current)
            else:
                _remove(current)  # it was not there before the restore
        self.moved.clear()

    def commit(self) -> None:
        shutil.rmtree(self.previous, ignore_errors=True)


def _with_companions(data: Path, roots: list[str]) -> list[str]:
    found = list(roots)
    for root in roots:
        if root.endswith(".vcdbs"):
            found += [root + s for s in SAVE_COMPANIONS if (data / (root + s)).exists()]
    return found


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
