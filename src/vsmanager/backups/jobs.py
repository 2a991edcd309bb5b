"""What a backup or restore is doing now, as ``GET …/backups/{id}`` shows it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

State = Literal["running", "done", "failed"]


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
    kind: Literal["backup", "restore"]
    state: State = "running"
    step: str = "starting"
    bytes_done: int = 0
    bytes_total: int = 0
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "step": self.step, "bytes_done": self.bytes_done,
                "bytes_total": self.bytes_total, "error": self.error}
