"""The backup folder: archives, their manifests beside them (``<archive>.json``) and whether
each was verified (``<archive>.verified.json``)."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vsmanager.backups.naming import EXTENSIONS, backup_id, is_archive_name, parse_time


@dataclass
class Backup:
    id: str
    path: Path
    manifest: dict[str, Any]
    verified: bool
    verify_error: str | None

    @property
    def time(self) -> datetime:
        return parse_time(self.path.name) or datetime.fromtimestamp(self.path.stat().st_mtime, UTC)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.path.name, "time": self.time.isoformat(),
            "size": self.path.stat().st_size, "verified": self.verified,
            "world": self.manifest.get("world"), "game_version": self.manifest.get("game_version"),
            "made_by": self.manifest.get("made_by"), "verify_error": self.verify_error,
        }


class BackupStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def ensure(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)

    def all(self) -> list[Backup]:
        if not self.folder.is_dir():
            return []
        found = [self._load(p) for p in self.folder.iterdir() if is_archive_name(p.name)]
        return sorted((b for b in found if b is not None), key=lambda b: b.time, reverse=True)

    def get(self, id: str) -> Backup | None:
        for extension in EXTENSIONS:
            path = self.folder / f"{id}{extension}"
            if "/" not in id and is_archive_name(path.name) and path.is_file():
                return self._load(path)
        return None

    def names(self) -> set[str]:
        return {p.name for p in self.folder.iterdir()} if self.folder.is_dir() else set()

    def save_manifest(self, archive: Path, manifest: dict[str, Any]) -> None:
        _write_json(_beside(archive, ".json"), manifest)

    def mark(self, archive: Path, verified: bool, error: str | None = None) -> None:
        _write_json(_beside(archive, ".verified.json"), {
            "verified": verified, "error": error, "at": datetime.now(UTC).isoformat()})

    def delete(self, backup: Backup) -> None:
        for path in (_beside(backup.path, ".verified.json"), _beside(backup.path, ".json"), backup.path):
            path.unlink(missing_ok=True)

    def free_bytes(self) -> int:
        self.ensure()
        return shutil.disk_usage(self.folder).free

    def _load(self, path: Path) -> Backup | None:
        try:
            manifest = json.loads(_beside(path, ".json").read_text())
        except (OSError, ValueError):
            return None  # not finished, or not ours
        mark: dict[str, Any] = {}
        try:
            mark = json.loads(_beside(path, ".verified.json").read_text())
        except (OSError, ValueError):
            pass
        return Backup(backup_id(path.name), path, manifest, bool(mark.get("verified")), mark.get("error"))


def _beside(archive: Path, suffix: str) -> Path:
    return archive.with_name(archive.name + suffix)


def _write_json(path: Path, value: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    with open(tmp, "w") as f:
        json.dump(value, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
