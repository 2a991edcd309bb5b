"""Making, verifying and restoring backups, one at a time, off the event loop.

The service orders the steps of a backup and keeps the jobs (one at a time, each recorded
in the job book); a restore's steps are in restore.py, what a restart finds in recovery.py,
the game's copy in game_copy.py, the heavy work in child.py. Why about 360 lines: it is
also the one place that runs work off the loop (a thread for small file operations, the
child process for heavy ones) and the API the routes and schedules call.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import structlog

from vsmanager import __version__
from vsmanager.access.audit import AuditLog
from vsmanager.backups import archive, child, contents, game_copy, recovery
from vsmanager.backups.child_run import ChildRun
from vsmanager.backups.jobs import BackupRefused, Job, JobBook, Kind, StepFailed
from vsmanager.backups.naming import archive_name, backup_id
from vsmanager.backups.priority import lower_io_of_this_thread
from vsmanager.backups.restore import Restore
from vsmanager.backups.retention import Kept, RetentionRules, to_delete
from vsmanager.backups.space import check_space
from vsmanager.backups.store import Backup, BackupStore
from vsmanager.config.settings import Settings
from vsmanager.game.supervisor import Supervisor

log = structlog.get_logger("vsmanager.backups")
T = TypeVar("T")


class BackupService:
    def __init__(self, settings: Settings, supervisor: Supervisor, audit: AuditLog) -> None:
        self.settings = settings
        self.supervisor = supervisor
        self.audit = audit
        self.book = JobBook(settings.backup_dir)
        self.jobs: dict[str, Job] = self.book.load()
        self.busy: Job | None = None
        self.downloading: dict[str, int] = {}
        self.last: dict[str, Any] = {}  # for /metrics: time, size, outcome of the last backup
        # Told each backup's outcome ("backup_done" or "backup_failed", and its facts): the
        # notifications listen here, so this package need not know them.
        self.outcome_listeners: list[Callable[[str, dict[str, Any]], None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    def recover(self) -> list[str]:
        """Before the game starts: end the jobs a killed vsmanager left running (their
        partial files removed, an interrupted restore put back); what was done, in words."""
        if self.settings.backup_dir is None:
            return []
        told = recovery.recover(self.jobs, self.store.folder)
        self.book.save(self.jobs)
        for text in told:
            log.warning("backup_job_interrupted", what=text)
            self.say(text)
        return told

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
        job = self.claim_backup(made_by)
        self._spawn(self.make_job(job))
        return job.id

    async def make_backup(self, made_by: str) -> dict[str, Any]:
        """Make one backup and wait for it: the call a schedule's ``backup`` action makes.
        Returns the backup's summary; raises BackupRefused or StepFailed."""
        job = self.claim_backup(made_by)
        await self.make_job(job)
        if job.state == "failed":
            raise StepFailed(job.step, job.error or "unknown")
        return self.get(job.id).summary()

    def start_restore(self, id: str, confirm: str | None, by: str) -> None:
        backup = self.get(id)
        world = backup.manifest.get("world")
        if confirm != world:
            raise BackupRefused(422, "confirmation_required",
                                f'restoring needs {{"confirm": "{world}"}}: the world\'s name, as listed')
        job = self._claim(id, "restore")
        self._spawn(Restore(self, job, backup, by).run())

    async def verify(self, id: str) -> dict[str, Any]:
        backup, store = self.get(id), self.store
        job = self._claim(id, "verify")
        self.set_step(job, "verifying")
        try:
            scratch = Path(await self.in_worker(lambda: tempfile.mkdtemp(dir=store.folder, prefix=".verify-")))
            try:
                await self.in_child({"op": "verify", "archive": str(backup.path),
                                     "manifest": backup.manifest, "scratch": str(scratch)}, job)
            except archive.ArchiveError as exc:
                why = str(exc)
                await self.in_worker(lambda: store.mark(backup.path, False, why))
            else:
                await self.in_worker(lambda: store.mark(backup.path, True))
            finally:
                await self.in_worker(lambda: shutil.rmtree(scratch, ignore_errors=True))
            self.end(job, "done")
        except BaseException as exc:  # cancelled too: the service must not stay claimed
            self.end(job, "failed", f"verifying failed: {exc}")
            raise
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

    # -- jobs -------------------------------------------------------------------------------

    def claim_backup(self, made_by: str) -> Job:
        """Check space and claim the service for a new backup (BackupRefused if it cannot)."""
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
        return self._claim(backup_id(name), "backup", name=name, made_by=made_by)

    def _claim(self, id: str, kind: Kind, **extra: Any) -> Job:
        if self.busy is not None:
            raise self._busy()
        job = Job(id, kind, extra=extra)
        self.jobs.pop(job.key, None)  # the newest last: the book keeps the newest
        self.busy = self.jobs[job.key] = job
        self.save_jobs()
        return job

    def set_step(self, job: Job, step: str, **extra: Any) -> None:
        job.step = step
        job.extra.update(extra)
        self.save_jobs()

    def end(self, job: Job, state: str, error: str | None = None) -> None:
        job.state, job.error = "done" if state == "done" else "failed", error
        if state == "done":
            job.step = "done"
        if self.busy is job:
            self.busy = None
        self.save_jobs()

    def save_jobs(self) -> None:
        self.book.save(self.jobs)

    # -- making a backup ----------------------------------------------------------------------

    async def make_job(self, job: Job) -> None:
        try:
            await self._make(job, job.extra["made_by"])
            self.end(job, "done")
            self._note_outcome(job, "verified")
        except Exception as exc:  # every failure ends the job with its step named
            self.end(job, "failed", str(exc) if isinstance(exc, StepFailed) else f"{job.step} failed: {exc}")
            self._note_outcome(job, "failed")
            log.warning("backup_failed", id=job.id, error=job.error)
        finally:
            if self.busy is job:
                self.busy = None

    async def _make(self, job: Job, made_by: str) -> None:
        # Every file operation runs in the low-priority worker, the small ones too: right
        # after a big archive is written, even a small fsync or unlink may wait for the disk,
        # and the event loop must not.
        store, data = self.store, contents.data_folder(self.settings)
        target = store.folder / job.extra["name"]
        self.say(f"backup {job.id}: started by {made_by}")
        scratch = Path(await self.in_worker(lambda: tempfile.mkdtemp(dir=store.folder, prefix=".making-")))
        try:
            copy = await self._consistent_copy(job, data, scratch)
            entries = await self.in_worker(lambda: contents.entries(self.settings, data, copy))
            self.set_step(job, "archiving")
            job.bytes_total = sum(e.size for e in entries)
            manifest = {
                "format": 1, "vsmanager_version": __version__, "game_version": self.supervisor.game.version,
                "world": contents.world_name(data), "made_by": made_by,
                "created_at": datetime.now(UTC).isoformat(),
                "roots": contents.roots(self.settings, data, with_copy=copy is not None),
            }

            manifest = await self.in_child({"op": "write", "target": str(target), "manifest": manifest,
                                            "entries": child.encode_entries(entries)}, job)
            await self.in_worker(lambda: store.save_manifest(target, manifest))
            self.set_step(job, "verifying")
            job.bytes_done = 0
            try:
                await self.in_child({"op": "verify", "archive": str(target), "manifest": manifest,
                                     "scratch": str(scratch)}, job)
            except archive.ArchiveError as exc:
                why = str(exc)
                await self.in_worker(lambda: store.mark(target, False, why))
                raise StepFailed("verifying", exc) from exc
            await self.in_worker(lambda: store.mark(target, True))
        finally:
            await self.in_worker(lambda: shutil.rmtree(scratch, ignore_errors=True))
        size = target.stat().st_size
        self.say(f"backup {job.id}: verified ({size} bytes)")
        self.audit.record("backup", name=made_by, backup=job.id, size=size)
        for id in await self.in_worker(self._apply_retention):
            self.say(f"backup {id}: deleted by the retention policy")

    async def _consistent_copy(self, job: Job, data: Path, scratch: Path) -> Path | None:
        """What the archive holds in place of the live world: the game's own copy while it
        runs, else (Vintage Story) a copy through SQLite's backup API, which also folds in a
        WAL left beside the save; else nothing (the files as they are)."""
        vintage_story = contents.is_vintage_story(self.settings)
        if self.supervisor.state in game_copy.RUNNING:
            if not self.settings.backup_command:
                raise StepFailed(game_copy.STEP, "the game runs and VS_BACKUP_COMMAND is empty")
            if contents.copy_stands_for(self.settings, data) is None:
                if vintage_story:  # a new server still making its world, or another folder
                    raise StepFailed(game_copy.STEP, f"no world save in {data} yet (no serverconfig.json "
                                     "naming one, no .vcdbs in Saves/): back up once the game has made "
                                     "its world, or set VS_SERVER_DATA_DIR (or --dataPath) to its data folder")
                raise StepFailed(game_copy.STEP, "the game runs and VS_BACKUP_COPY_OF is empty: name the "
                                 "path its copy stands for (e.g. world)")
            self.set_step(job, game_copy.STEP)
            name = f"vsmanager-{job.id}" + (contents.SAVE_SUFFIX if vintage_story else "")
            pattern = self.settings.backup_copy
            game_copy.copy_path(data, pattern, name)  # refused before anything is asked
            await game_copy.ask_game(self.supervisor, self.settings, name)
            return await self.in_worker(lambda: game_copy.take_copy(data, pattern, name, scratch))
        save = contents.save_file(data) if vintage_story else None
        if save is None or not save.is_file():
            return None
        self.set_step(job, "copying the save")
        moved = scratch / save.name
        await self.in_child({"op": "sqlite_copy", "save": str(save), "target": str(moved)})
        return moved

    def _apply_retention(self) -> list[str]:
        """The backups the policy deletes (in the worker: deleting a big archive takes the
        file system a while); their ids."""
        store = self.store
        deleted: list[str] = []
        backups = store.all()
        rules = RetentionRules(self.settings.backup_keep_last, self.settings.backup_keep_daily,
                               self.settings.backup_keep_weekly)
        protected = set(self.downloading) | ({self.busy.id} if self.busy else set())
        for id in to_delete([Kept(b.id, b.time, b.verified) for b in backups], rules, protected):
            backup = store.get(id)
            if backup is not None:
                store.delete(backup)
                deleted.append(id)
        return deleted

    # -- plumbing -------------------------------------------------------------------------------

    async def in_worker(self, work: Callable[[], T]) -> T:
        """The small file operations (renames, deletes, a manifest) off the event loop: a
        thread of its own in the idle I/O class, at normal CPU priority (lowered, it could be
        descheduled holding the interpreter lock the loop needs); the heavy ones: in_child."""
        with ThreadPoolExecutor(1, thread_name_prefix="backup", initializer=lower_io_of_this_thread) as pool:
            return await asyncio.get_running_loop().run_in_executor(pool, work)

    async def in_child(self, request: dict[str, Any], job: Job | None = None) -> Any:
        """Run one heavy operation (child.py) in a low-priority process of its own, started
        and read from a thread (child_run.py), its progress into ``job.bytes_done``; raise
        ArchiveError or ChildFailed as it fails."""
        return await ChildRun(request, job).result()

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

    def say(self, text: str) -> None:
        self.supervisor.feed.publish("system", text)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
