"""The audit trail: who did what from where, as the structured log's ``audit`` event and,
with VS_AUDIT_LOG, as JSON lines in a file only its owner can read."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from vsmanager.access.redaction import Digests, KeyRedactor
from vsmanager.config.settings import SettingsError

log = structlog.get_logger("vsmanager.audit")


class AuditLog:
    def __init__(self, path: Path | None, secrets: list[str] | None = None, *,
                 structured: bool = True, digests: Digests | None = None) -> None:
        self.path = path
        # False for the `vsmanager keys` commands: their output is for a person (and the
        # running vsmanager logs the change when it re-reads the file).
        self.structured = structured
        # Every key vsmanager knows, should one be typed into a command or a path: the file
        # does not pass through the log's redaction.
        self.redact = KeyRedactor(secrets or [], digests)
        self._fd: int | None = None
        if path is not None:
            self._fd = _open_for_appending(path)

    def record(self, action: str, *, logged: bool = False, **fields: Any) -> None:
        """``action`` (auth_failed, command, start, stop, restart, key_added, ...) with the
        key's ``name`` and ``role`` and the ``client`` address where known. ``logged``: the
        caller wrote its own log line for it, so only the file gets the record."""
        # "name" would clash with the log record's own attribute (the logger's name).
        if self.structured and not logged:
            log.info("audit", action=action,
                     **{("key_name" if k == "name" else k): v for k, v in fields.items()})
        if self._fd is not None:
            ts = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
            entry = {"ts": ts, "action": action, **fields}
            # ensure_ascii: no field can hold a line separator of any kind.
            line = json.dumps(entry, ensure_ascii=True, default=str)
            line = self.redact(line)
            try:
                os.write(self._fd, line.encode() + b"\n")
            except OSError as exc:
                log.error("audit_write_failed", path=str(self.path), error=str(exc))

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _open_for_appending(path: Path) -> int:
    # O_APPEND: one write() per record lands whole at the end, even with a `vsmanager keys`
    # command appending to the same file at the same time.
    fd = -1
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        os.fchmod(fd, 0o600)
    except OSError as exc:
        if fd >= 0:
            os.close(fd)
        raise SettingsError(
            f"VS_AUDIT_LOG: cannot append to {path} ({exc.strerror or exc}); make it (or its "
            "folder) writable by vsmanager's user, e.g. install -d -o vintagestory -m 0750 "
            f"{path.parent}, or unset VS_AUDIT_LOG") from None
    return fd
