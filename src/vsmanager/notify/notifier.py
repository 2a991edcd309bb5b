"""Routes events to the targets that want them, each through its own :class:`TargetWorker`;
reads the notifications file (TOML ``[[notifications]]`` or JSON), again when it changes. A
bad target is listed with its error (field and why); the others keep working."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import tomllib
from pathlib import Path
from typing import Any

import httpx
import structlog

from vsmanager.config.settings import Settings
from vsmanager.notify.delivery import TargetWorker
from vsmanager.notify.events import Event
from vsmanager.notify.retry import RetryRules
from vsmanager.notify.target import Target, TargetError, parse_target

log = structlog.get_logger("vsmanager.notify")

FILE_POLL_S = 1.0
MAX_FILE_BYTES = 256 * 1024
MAX_TARGETS = 50
# How long a stopping vsmanager gives its last messages (vsmanager_stopping, stopped).
DRAIN_S = 5.0

Signature = tuple[int, int, int, int] | None


class Notifier:
    def __init__(self, settings: Settings) -> None:
        self.path = settings.notifications_file
        self.rules = RetryRules(settings.notify_retry_delay, settings.notify_retry_max_delay,
                                settings.notify_retry_for)
        self.queue_size = settings.notify_queue_size
        self.client = httpx.AsyncClient(timeout=settings.notify_timeout, follow_redirects=False,
                                        headers={"User-Agent": "vsmanager"})
        self.workers: dict[str, TargetWorker] = {}
        self.errors: list[TargetError] = []
        self.file_error: str | None = None
        self._seen: Signature = None
        self._watcher: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Notifier:
        # httpx logs each request's URL at INFO; a webhook's URL is its secret.
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self.reload()
        if self.path is not None:
            self._watcher = asyncio.create_task(self._watch(), name="notifications-file-watcher")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
        await asyncio.gather(*(w.drain(DRAIN_S) for w in self.workers.values()), return_exceptions=True)
        await self.client.aclose()

    # -- events ----------------------------------------------------------------------------

    def emit(self, name: str, data: dict[str, Any] | None = None) -> None:
        """Queue the event for every target that wants it; never waits."""
        event = Event(name, dict(data or {}))
        for worker in self.workers.values():
            if worker.target.wants(name):
                worker.put(event)

    def emit_to(self, target: str, name: str, data: dict[str, Any]) -> bool:
        worker = self.workers.get(target)
        return worker is not None and worker.put(Event(name, data))

    def test(self, target: str) -> bool:
        return self.emit_to(target, "test", {"message": "vsmanager can reach this target"})

    @property
    def targets(self) -> list[Target]:
        return [worker.target for worker in self.workers.values()]

    def describe(self) -> list[dict[str, Any]]:
        described = []
        for worker in self.workers.values():
            last = worker.last
            described.append({
                **worker.target.masked(),
                "last": None if last is None else {"event": last.event, "at": last.at,
                                                   "delivered": last.delivered, "error": last.error,
                                                   "tries": last.tries},
                "last_success": worker.last_success, "delivered": worker.delivered,
                "gave_up": worker.gave_up, "dropped": worker.dropped, "queued": worker.queue.qsize(),
            })
        for error in self.errors:
            described.append({"name": error.name or "?", "error": error.as_json()})
        return described

    # -- the file --------------------------------------------------------------------------

    def reload(self) -> None:
        if self.path is None:
            return
        self._seen = _signature(self.path)
        try:
            items = _read(self.path)
            self.file_error = None
        except ValueError as exc:
            self.file_error = str(exc)
            log.error("notifications_file_invalid", error=str(exc), kept="the targets read before")
            return
        targets: dict[str, Target] = {}
        errors: list[TargetError] = []
        for item in items:
            try:
                target = parse_target(item, self.path.parent)
            except TargetError as exc:
                errors.append(exc)
                log.error("notification_target_invalid", target=exc.name, field=exc.field, why=exc.why)
                continue
            if target.name in targets:
                errors.append(TargetError(target.name, "name", "another target has this name"))
                continue
            targets[target.name] = target
        self.errors = errors
        for name, worker in list(self.workers.items()):
            if targets.get(name) != worker.target:
                del self.workers[name]
                asyncio.get_running_loop().create_task(worker.drain(DRAIN_S))
        for name, target in targets.items():
            if name not in self.workers:
                worker = TargetWorker(target, self.client, self.rules, self.queue_size)
                worker.start()
                self.workers[name] = worker
        log.info("notifications_loaded", targets=sorted(targets), invalid=len(errors))

    async def _watch(self) -> None:
        assert self.path is not None
        while True:
            await asyncio.sleep(FILE_POLL_S)
            if _signature(self.path) != self._seen:
                try:
                    self.reload()
                except Exception:
                    log.exception("notifications_reload_failed")


def _read(path: Path) -> list[Any]:
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"{path} is larger than {MAX_FILE_BYTES // 1024} KiB")
    try:
        text = data.decode("utf-8")
        document = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        # The parser's message quotes no value, but keep it short all the same.
        raise ValueError(f"{path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'TOML'} "
                         f"({str(exc)[:120]})") from None
    if not isinstance(document, dict) or not set(document) <= {"notifications"}:
        raise ValueError(f'{path}: expected only a list named "notifications" ([[notifications]] tables)')
    items = document.get("notifications", [])
    if not isinstance(items, list) or len(items) > MAX_TARGETS:
        raise ValueError(f'{path}: "notifications" must be a list of at most {MAX_TARGETS} tables')
    return items


def _signature(path: Path) -> Signature:
    with contextlib.suppress(OSError):
        st = os.stat(path)
        return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
    return None
