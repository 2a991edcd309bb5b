"""What a backup, verify or restore is doing now, as ``GET …/backups/{id}`` shows it, and the
book that keeps those records across restarts (``.jobs.json`` in the backup folder)."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

State = Literal["running", "done", "failed"]
Kind = Literal["backup", "restore", "verify"]
BOOK = ".jobs.json"
KEEP = 100  # records kept in the book: the newest, so the file stays small


class BackupRefused(Exception):
    """A backup operation that cannot start or go on; ``status`` and ``code`` for the API."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class StepFailed(Exception):
    """A step of a backup or restore failed; the message names the step."""

    def __init__(self, step: str, cause: BaseException | str) -> None:
        super().__init__(f"{step} failed: {cause}")
        self.step = step


@dataclass
class Job:
    id: str
    kind: Kind
    state: State = "running"
    step: str = "starting"
    bytes_done: int = 0
    bytes_total: int = 0
    error: str | None = None
    # What recovery after a restart needs (a backup's name; a restore's folders and the
    # roots it added), and what the outcome tells (made_by).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Its key in the book: a backup's id, or ``restore:<id>`` / ``verify:<id>``."""
        return self.id if self.kind == "backup" else f"{self.kind}:{self.id}"

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "step": self.step, "bytes_done": self.bytes_done,
                "bytes_total": self.bytes_total, "error": self.error}


class JobBook:
    """The jobs of one backup folder, written whole (temporary name, then rename) at each
    change of step or state, so a vsmanager killed mid-job leaves a record of where it was."""

    def __init__(self, folder: Path | None) -> None:
        self.path = folder / BOOK if folder is not None else None
        self._lock = threading.Lock()  # a restore's swap records from its worker thread

    def load(self) -> dict[str, Job]:
        if self.path is None:
            return {}
        try:
            records = json.loads(self.path.read_text())
            jobs = [Job(**r) for r in records]
        except (OSError, ValueError, TypeError):
            return {}  # none yet, or unreadable: the archives themselves are the truth
        return {job.key: job for job in jobs}

    def save(self, jobs: dict[str, Job]) -> None:
        if self.path is None or not self.path.parent.is_dir():
            return
        tmp = self.path.with_name(f"{BOOK}.partial")
        # No fsync: it is written from the event loop at each step; a killed process loses
        # nothing (the page cache stays), a power cut may show an older step.
        with self._lock:
            records = [asdict(job) for job in list(jobs.values())[-KEEP:]]
            try:
                tmp.write_text(json.dumps(records, indent=1))
                os.replace(tmp, self.path)
            except OSError:
                with contextlib.suppress(OSError):
                    tmp.unlink()
