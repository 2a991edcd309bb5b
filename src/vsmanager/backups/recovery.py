"""What a vsmanager killed in the middle of a job left, put right by the next one before
its game starts: each job the book shows running ends ``failed`` with why, the partial
files are removed, and an interrupted restore is put back (or the error says where the
previous files are)."""

from __future__ import annotations

import shutil
from pathlib import Path

from vsmanager.backups.jobs import Job
from vsmanager.backups.restore import COMMITTING, SWAPPING
from vsmanager.backups.store import BackupStore
from vsmanager.backups.swap import put_back

# What the making and verifying of archives leave in the backup folder while they run.
LEFTOVERS = (".making-*", ".verify-*", ".*.partial")


def recover(jobs: dict[str, Job], folder: Path) -> list[str]:
    """End every running job in ``jobs`` (changed in place); what was done, in words."""
    told: list[str] = []
    for job in jobs.values():
        if job.state != "running":
            continue
        why = f"interrupted by a restart of vsmanager (during {job.step})"
        if job.kind == "restore":
            told.append(_restore(job, why))
        elif job.kind == "backup":
            job.state, job.error = "failed", f"{why}: no archive was kept"
            archive = folder / job.extra["name"]
            if job.step == "verifying" and archive.is_file():
                job.error = f"{why}: the archive was written but not verified; verify it"
                BackupStore(folder).mark(archive, False, job.error)
            else:  # renamed in place just before the kill, without its manifest: not ours
                for path in (archive, archive.with_name(archive.name + ".json")):
                    path.unlink(missing_ok=True)
            told.append(f"backup {job.id}: {job.error}")
        else:
            job.state, job.error = "failed", why
            told.append(f"{job.kind} of {job.id}: {why}")
    if folder.is_dir():
        for pattern in LEFTOVERS:
            for path in folder.glob(pattern):
                _remove(path)
    return told


def _restore(job: Job, why: str) -> str:
    extra = job.extra
    staged = Path(extra["staged"]) if "staged" in extra else None
    previous = Path(extra["previous"]) if "previous" in extra else None
    job.state = "failed"
    if job.step == COMMITTING and previous is not None:
        # Every file of the backup was in place: the restore stands; only the tidying is left.
        _remove(previous)
        job.state, job.step, job.error = "done", "done", None
        told = f"restore of {job.id}: {why}, after its files were all in place: the restore stands"
    elif job.step == SWAPPING and previous is not None:
        try:
            put_back(Path(extra["data"]), previous, extra.get("roots", []), extra.get("added", []))
        except OSError as exc:
            job.error = (f"{why}; putting the previous files back failed ({exc}): they are in "
                         f"{previous}, put them back by hand")
        else:
            job.error = f"{why}; the previous files were put back"
        told = f"restore of {job.id}: {job.error}"
    else:
        job.error = f"{why}; the world was not changed"
        told = f"restore of {job.id}: {job.error}"
    if staged is not None:
        _remove(staged)
    return told


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
