"""One restore, step by step: stop the game, back up the current files, extract and check the
archive, swap its files in, and start the game again as it was; the previous files go back
if a step fails. Each step is recorded in the job book first, so that a vsmanager killed in
the middle leaves enough for the next one to put things back (recovery.py)."""

from __future__ import annotations

import shutil
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from vsmanager.backups import contents
from vsmanager.backups.game_copy import RUNNING
from vsmanager.backups.jobs import Job, StepFailed
from vsmanager.backups.store import Backup
from vsmanager.backups.swap import Swap

if TYPE_CHECKING:
    from vsmanager.backups.service import BackupService

# The steps a restart finds a restore in: before swapping nothing was changed; while
# swapping the previous files go back; once committing, the backup's files are all in place.
SWAPPING = "swapping in"
COMMITTING = "committing"


class Restore:
    def __init__(self, service: BackupService, job: Job, backup: Backup, by: str) -> None:
        self.service, self.job, self.backup, self.by = service, job, backup, by
        self.supervisor = service.supervisor

    async def run(self) -> None:
        job, service = self.job, self.service
        was_running = self.supervisor.state in RUNNING
        job.extra["was_running"] = was_running
        try:
            await self._restore(was_running)
            service.end(job, "done")
        except Exception as exc:
            service.end(job, "failed", str(exc) if isinstance(exc, StepFailed) else f"{job.step} failed: {exc}")
            service.say(f"restore of {self.backup.id}: {job.error}; the previous files are back")
            service.audit.record("restore_failed", name=self.by, backup=self.backup.id, error=job.error)
        finally:
            if service.busy is job:
                service.busy = None
        if was_running and self.supervisor.state not in RUNNING:
            try:
                await self._step("starting the game", self.supervisor.start(by="restore"))
            except StepFailed as exc:
                job.state, job.error = "failed", str(exc)
                service.save_jobs()

    async def _restore(self, was_running: bool) -> None:
        job, service, backup = self.job, self.service, self.backup
        data = contents.data_folder(service.settings)
        if was_running:
            await self._step("stopping the game", self._stop_game())
        await self._pre_restore_backup()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        staged, previous = data / f".vsmanager-restore-{stamp}", data / f".vsmanager-previous-{stamp}"
        roots: list[str] = backup.manifest.get("roots", [])
        job.extra.update(data=str(data), staged=str(staged), previous=str(previous), roots=roots, added=[])
        try:
            job.bytes_total = sum(f["size"] for f in backup.manifest["files"])
            await self._step("extracting and checking", service.in_child(
                {"op": "extract", "archive": str(backup.path), "manifest": backup.manifest,
                 "target": str(staged)}, job))
            swap = Swap(data, staged, previous, on_added=self._added)
            try:
                await self._step(SWAPPING, service.in_worker(lambda: swap.run(roots)))
            except BaseException:
                await service.in_worker(swap.rollback)
                raise
            service.set_step(job, COMMITTING)
            await service.in_worker(swap.commit)
        finally:
            await service.in_worker(lambda: shutil.rmtree(staged, ignore_errors=True))

    async def _pre_restore_backup(self) -> None:
        service, job = self.service, self.job
        service.set_step(job, "pre-restore backup")
        service.busy = None  # the pre-restore backup claims the service for its own steps
        try:
            pre = service.claim_backup("pre-restore")
            await service.make_job(pre)
        except Exception as exc:
            raise StepFailed("pre-restore backup", exc) from exc
        finally:
            service.busy = job
        if pre.state == "failed":
            raise StepFailed("pre-restore backup", pre.error or "failed")

    def _added(self, added: list[str]) -> None:
        # Called from the worker thread, before the root moves in: the book must say so first.
        self.job.extra["added"] = added
        self.service.save_jobs()

    async def _stop_game(self) -> None:
        settings = self.service.settings
        await self.supervisor.stop(by="restore")
        budget = settings.server_stop_timeout + 2 * settings.server_kill_timeout + 5
        if not await self.supervisor.wait_exited(budget):
            raise RuntimeError("the game did not exit")

    async def _step(self, step: str, work: Awaitable[Any]) -> None:
        self.service.set_step(self.job, step)
        self.service.say(f"restore of {self.backup.id}: {step}")
        self.service.audit.record("restore_step", name=self.by, backup=self.backup.id, step=step)
        try:
            await work
        except Exception as exc:
            raise StepFailed(step, exc) from exc
