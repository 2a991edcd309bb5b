"""Making, verifying and restoring backups, one at a time, off the event loop.

Why about 330 lines: it is the one place that orders the steps of a backup and of a restore
(asking the game, archiving, verifying, stopping, swapping, starting again) and puts things
back when a step fails; the parts it calls (archive, contents, swap, store, the policies)
live in their own modules.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import structlog

from vsmanager import __version__
from vsmanager.access.audit import AuditLog
from vsmanager.backups import archive, contents
from vsmanager.backups.jobs import BackupRefused, Job, StepFailed
from vsmanager.backups.naming import archive_name, backup_id
from vsmanager.backups.priority import lower_this_thread
from vsmanager.backups.retention import Kept, RetentionRules, to_delete
from vsmanager.backups.space import check_space
from vsmanager.backups.store import Backup, BackupStore
from vsmanager.backups.swap import Swap
from vsmanager.config.settings import Settings
from vsmanager.game.supervisor import ServerState, Supervisor

log = structlog.get_logger("vsmanager.backups")
T = TypeVar("T")
RUNNING = (ServerState.STARTING, ServerState.RUNNING)


class BackupService:
    def __init__(self, settings: Settings, supervisor: Supervisor, audit: AuditLog) -> None:
        self.settings = settings
        self.supervisor = supervisor
        self.audit = audit
        self.jobs: dict[str, Job] = {}
        self.busy: Job | None = None
        self.downloading: dict[str, int] = {}
        self.last: dict[str, Any] = {}  # for /metrics: time, size, outcome of the last backup
        # Told each backup's outcome ("backup_done" or "backup_failed", and its facts): the
        # notifications listen here, so this package need not know them.
        self.outcome_listeners: list[Callable[[str, dict[str, Any]], None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- what the routes call ---------------------------------------------------------------

    @property
    def store(self) -> BackupStore:
        if self.settings.backup_dir is None:
            raise BackupRefused(409, "backups_disabled", "backups are off: set VS_BACKUP_DIR")
        return BackupStore(self.settings.backup_dir)

    def get(self, id: str) -> Backup:
        backup = self.store.get(id)
        if backup is None:
            raise BackupRefused(404, "not_found", f"no backup {id!r}")
        return backup

    def start_backup(self, made_by: str) -> str:
        """Check and claim, then make the backup in a task; its id at once (202)."""
        job = self._claim("backup", made_by)
        self._spawn(self._make_job(job, made_by))
        return job.id

    async def make_backup(self, made_by: str) -> dict[str, Any]:
        """Make one backup and wait for it: the call a schedule's ``backup`` action makes.
        Returns the backup's summary; raises BackupRefused or StepFailed."""
        job = self._claim("backup", made_by)
        await self._make_job(job, made_by)
        if job.state == "failed":
            raise StepFailed(job.step, job.error or "unknown")
        return self.get(job.id).summary()

    def start_restore(self, id: str, confirm: str | None, by: str) -> None:
        backup = self.get(id)
        world = backup.manifest.get("world")
        if confirm != world:
            raise BackupRefused(422, "confirmation_required",
                                f'restoring needs {{"confirm": "{world}"}}: the world\'s name, as listed')
        if self.busy is not None:
            raise self._busy()
        job = Job(id, "restore")
        self.busy = self.jobs[f"restore:{id}"] = job
        self._spawn(self._restore_job(job, backup, by))

    async def verify(self, id: str) -> dict[str, Any]:
        backup = self.get(id)
        with tempfile.TemporaryDirectory(dir=self.store.folder, prefix=".verify-") as scratch:
            try:
                await self._in_worker(lambda: archive.verify(backup.path, backup.manifest, Path(scratch),
                                                             lambda n: None))
            except (archive.ArchiveError, ValueError) as exc:
                self.store.mark(backup.path, False, str(exc))
            else:
                self.store.mark(backup.path, True)
        return self.get(id).summary()

    def delete(self, id: str) -> None:
        backup = self.get(id)
        if (self.busy is not None and self.busy.id == id) or id in self.downloading:
            raise BackupRefused(409, "backup_in_use", f"backup {id} is being restored or downloaded")
        self.store.delete(backup)

    def newest_verified_time(self) -> float:
        if self.settings.backup_dir is None:
            return 0.0
        verified = [b for b in self.store.all() if b.verified]
        return verified[0].time.timestamp() if verified else 0.0

    def status(self, id: str) -> dict[str, Any]:
        job, restore = self.jobs.get(id), self.jobs.get(f"restore:{id}")
        if job is None and restore is None:
            self.get(id)  # 404 when there is no such backup either
        found: dict[str, Any] = job.as_dict() if job else {"state": "done", "step": "done", "bytes_done": 0,
                                           "bytes_total": 0, "error": None}
        if backup := self.store.get(id):
            found.update(backup.summary())
        found["restore"] = ({k: v for k, v in restore.as_dict().items() if k in ("state", "step", "error")}
                            if restore else None)
        return found

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- making a backup ----------------------------------------------------------------------

    def _claim(self, kind: str, made_by: str) -> Job:
        store = self.store
        if self.busy is not None:
            raise self._busy()
        store.ensure()
        data = contents.data_folder(self.settings)
        backups = store.all()
        files_size = sum(e.size for e in contents.entries(self.settings, data, None)) if data.is_dir() else 0
        short = check_space(store.free_bytes(), backups[0].path.stat().st_size if backups else None, files_size)
        if short is not None:
            raise BackupRefused(507, "insufficient_space", short.reason)
        name = archive_name(contents.world_name(data), datetime.now(UTC), archive.extension(), store.names())
        job = Job(backup_id(name), "backup", extra={"name": name, "made_by": made_by})
        self.busy = self.jobs[job.id] = job
        return job

    async def _make_job(self, job: Job, made_by: str) -> None:
        try:
            await self._make(job, made_by)
            job.state, job.step = "done", "done"
            self._note_outcome(job, "verified")
        except Exception as exc:  # every failure ends the job with its step named
            job.state = "failed"
            job.error = str(exc) if isinstance(exc, StepFailed) else f"{job.step} failed: {exc}"
            self._note_outcome(job, "failed")
            log.warning("backup_failed", id=job.id, error=job.error)
        finally:
            if self.busy is job:
                self.busy = None

    async def _make(self, job: Job, made_by: str) -> None:
        store, data = self.store, contents.data_folder(self.settings)
        target = store.folder / job.extra["name"]
        self._say(f"backup {job.id}: started by {made_by}")
        with tempfile.TemporaryDirectory(dir=store.folder, prefix=".making-") as scratch:
            copy = await self._consistent_copy(job, data, Path(scratch))
            entries = contents.entries(self.settings, data, copy)
            job.step, job.bytes_total = "archiving", sum(e.size for e in entries)
            manifest = {
                "format": 1, "vsmanager_version": __version__, "game_version": self.supervisor.game.version,
                "world": contents.world_name(data), "made_by": made_by,
                "created_at": datetime.now(UTC).isoformat(), "roots": contents.roots(self.settings, data),
            }

            def progress(n: int) -> None:
                job.bytes_done = n

            manifest = await self._in_worker(lambda: archive.write_archive(target, entries, manifest, progress))
            store.save_manifest(target, manifest)
            job.step, job.bytes_done = "verifying", 0
            try:
                await self._in_worker(lambda: archive.verify(target, manifest, Path(scratch), progress))
            except (archive.ArchiveError, ValueError) as exc:
                store.mark(target, False, str(exc))
                raise StepFailed("verifying", exc) from exc
            store.mark(target, True)
        self._say(f"backup {job.id}: verified ({target.stat().st_size} bytes)")
        self.audit.record("backup", name=made_by, backup=job.id, size=target.stat().st_size)
        self._apply_retention()

    async def _consistent_copy(self, job: Job, data: Path, scratch: Path) -> Path | None:
        """The save as one consistent moment: the game's own copy while it runs, else a copy
        through SQLite's backup API (which also folds in a WAL left beside the save)."""
        save = contents.save_file(data) if contents.is_vintage_story(self.settings) else None
        if self.supervisor.state in RUNNING:
            if not self.settings.backup_command:
                raise StepFailed("asking the game", "the game runs and VS_BACKUP_COMMAND is empty")
            job.step = "asking the game"
            name = f"vsmanager-{job.id}.vcdbs"
            await self._ask_game(name)
            copy = data / self.settings.backup_copy.format(name=name)
            if not copy.is_file():
                raise StepFailed("asking the game", f"the game said done but {copy} is not there")
            moved = scratch / copy.name
            shutil.move(copy, moved)  # ours now: not left to fill the game's Backups/
            return moved
        if save is None or not save.is_file():
            return None
        job.step = "copying the save"
        moved = scratch / save.name
        await self._in_worker(lambda: _sqlite_copy(save, moved))
        return moved

    async def _ask_game(self, name: str) -> None:
        feed = self.supervisor.feed
        pattern = re.compile(self.settings.backup_done_pattern)
        seq = await self.supervisor.send_command(self.settings.backup_command.format(name=name), by="backup")
        deadline = time.monotonic() + self.settings.backup_timeout
        while (left := deadline - time.monotonic()) > 0:
            for line in feed.buffer.read_after(seq, 1000).lines:
                seq = line.seq
                if line.stream in ("stdout", "stderr") and pattern.search(line.text):
                    return
            await feed.wait(seq, feed.status_version, timeout=min(left, 1.0))
            if self.supervisor.state not in RUNNING:
                raise StepFailed("asking the game", "the game stopped before its copy was done")
        raise StepFailed("asking the game", f"no line matching {pattern.pattern!r} within "
                         f"{self.settings.backup_timeout:g} s (VS_BACKUP_TIMEOUT)")

    def _apply_retention(self) -> None:
        store = self.store
        backups = store.all()
        rules = RetentionRules(self.settings.backup_keep_last, self.settings.backup_keep_daily,
                               self.settings.backup_keep_weekly)
        protected = set(self.downloading) | ({self.busy.id} if self.busy else set())
        for id in to_delete([Kept(b.id, b.time, b.verified) for b in backups], rules, protected):
            backup = store.get(id)
            if backup is not None:
                store.delete(backup)
                self._say(f"backup {id}: deleted by the retention policy")

    # -- restoring ----------------------------------------------------------------------------

    async def _restore_job(self, job: Job, backup: Backup, by: str) -> None:
        was_running = self.supervisor.state in RUNNING
        try:
            await self._restore(job, backup, by, was_running)
            job.state, job.step = "done", "done"
        except Exception as exc:
            job.state = "failed"
            job.error = str(exc) if isinstance(exc, StepFailed) else f"{job.step} failed: {exc}"
            self._say(f"restore of {backup.id}: {job.error}; the previous files are back")
            self.audit.record("restore_failed", name=by, backup=backup.id, error=job.error)
        finally:
            self.busy = None
        if was_running and self.supervisor.state not in RUNNING:
            try:
                await self._step(job, backup, by, "starting the game", self.supervisor.start(by="restore"))
            except StepFailed as exc:
                job.state, job.error = "failed", str(exc)

    async def _restore(self, job: Job, backup: Backup, by: str, was_running: bool) -> None:
        data = contents.data_folder(self.settings)
        if was_running:
            await self._step(job, backup, by, "stopping the game", self._stop_game())
        self.busy = None  # the pre-restore backup claims the service for its own steps
        pre = self._claim("backup", "pre-restore")
        await self._make_job(pre, "pre-restore")
        self.busy = job
        if pre.state == "failed":
            raise StepFailed("pre-restore backup", pre.error or "failed")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        staged, previous = data / f".vsmanager-restore-{stamp}", data / f".vsmanager-previous-{stamp}"
        try:
            job.bytes_total = sum(f["size"] for f in backup.manifest["files"])

            def progress(n: int) -> None:
                job.bytes_done = n

            await self._step(job, backup, by, "extracting and checking", self._in_worker(
                lambda: archive.extract(backup.path, backup.manifest, staged, progress)))
            swap = Swap(data, staged, previous)
            try:
                await self._step(job, backup, by, "swapping in",
                                 self._in_worker(lambda: swap.run(backup.manifest.get("roots", []))))
            except BaseException:
                await self._in_worker(swap.rollback)
                raise
            swap.commit()
        finally:
            shutil.rmtree(staged, ignore_errors=True)

    async def _stop_game(self) -> None:
        await self.supervisor.stop(by="restore")
        budget = self.settings.server_stop_timeout + 2 * self.settings.server_kill_timeout + 5
        if not await self.supervisor.wait_exited(budget):
            raise RuntimeError("the game did not exit")

    async def _step(self, job: Job, backup: Backup, by: str, step: str, work: Any) -> None:
        job.step = step
        self._say(f"restore of {backup.id}: {step}")
        self.audit.record("restore_step", name=by, backup=backup.id, step=step)
        try:
            await work
        except Exception as exc:
            raise StepFailed(step, exc) from exc

    # -- plumbing -------------------------------------------------------------------------------

    async def _in_worker(self, work: Callable[[], T]) -> T:
        # A thread of its own: its niceness and I/O class stay lowered and die with it.
        with ThreadPoolExecutor(1, thread_name_prefix="backup", initializer=lower_this_thread) as pool:
            return await asyncio.get_running_loop().run_in_executor(pool, work)

    def _busy(self) -> BackupRefused:
        assert self.busy is not None
        return BackupRefused(409, "backup_busy",
                             f"a {self.busy.kind} ({self.busy.id}) is running: one at a time")

    def _note_outcome(self, job: Job, outcome: str) -> None:
        backup = self.store.get(job.id) if outcome == "verified" else None
        self.last = {"time": time.time(), "size": backup.path.stat().st_size if backup else 0,
                     "outcome": outcome}
        event = "backup_done" if outcome == "verified" else "backup_failed"
        facts: dict[str, Any] = {"id": job.id, "made_by": job.extra.get("made_by"), "size": self.last["size"]}
        if job.error:
            facts["why"] = job.error
        for listener in list(self.outcome_listeners):
            listener(event, facts)

    def _say(self, text: str) -> None:
        self.supervisor.feed.publish("system", text)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _sqlite_copy(save: Path, target: Path) -> None:
    source = sqlite3.connect(save)  # not read-only: a WAL left by a crash is folded in
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
