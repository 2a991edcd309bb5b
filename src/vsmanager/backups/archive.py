"""One backup archive: written in one pass (hashing as it goes) under a temporary name,
flushed and renamed; read back to verify it; extracted member by member under checks.

zstd through the ``zstandard`` binding when it is installed, else gzip (``.tar.gz``).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import sqlite3
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from vsmanager.backups.members import HostileArchive, check_member

try:
    import zstandard
except ImportError:  # pragma: no cover - the fallback for a machine without the binding
    zstandard = None  # type: ignore[assignment]

MANIFEST = "manifest.json"
CHUNK = 1 << 20
Progress = Callable[[int], None]


class ArchiveError(Exception):
    """An archive that cannot be read, does not match its manifest, or holds a bad save."""


def extension() -> str:
    return ".tar.zst" if zstandard is not None else ".tar.gz"


@dataclass(frozen=True)
class Entry:
    """A file to archive: its path in the archive (POSIX, relative) and where it is read from."""
    name: str
    source: Path | None = None
    data: bytes | None = None  # generated content, e.g. the list of mods

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else (self.source or Path()).stat().st_size


def write_archive(
    target: Path, entries: list[Entry], manifest: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """Write ``target`` (temporary name, fsync, rename); return the manifest with each file's
    size and SHA-256, as it is stored inside and beside."""
    tmp = target.with_name(f".{target.name}.partial")
    files: list[dict[str, Any]] = []
    done = 0
    try:
        with open(tmp, "wb") as raw, _compressing(raw, target.name) as stream, \
                tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for entry in entries:
                info = tarfile.TarInfo(entry.name)
                info.size = entry.size
                info.mode = 0o644
                hasher = hashlib.sha256()

                def count(n: int) -> None:
                    nonlocal done
                    done += n
                    progress(done)

                with _open_entry(entry) as source:
                    tar.addfile(info, _Hashing(source, hasher, count))
                files.append({"path": entry.name, "size": info.size, "sha256": hasher.hexdigest()})
            manifest = {**manifest, "files": files}
            body = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(body)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(body))
        with open(tmp, "rb+") as flushed:
            os.fsync(flushed.fileno())
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return manifest


def read_members(archive: Path) -> Iterator[tuple[tarfile.TarInfo, IO[bytes] | None]]:
    """Each member in order with its content stream (None for a directory), every member
    checked first (:class:`HostileArchive`)."""
    try:
        with open(archive, "rb") as raw, _decompressing(raw, archive.name) as stream, \
                tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                check_member(member)
                yield member, tar.extractfile(member) if member.isfile() else None
    except _READ_ERRORS as exc:
        raise ArchiveError(f"{archive.name} cannot be read: {exc}") from exc


def verify(archive: Path, manifest: dict[str, Any], scratch: Path, progress: Progress) -> None:
    """Re-read ``archive``: every file's hash as its manifest says, the manifest inside the
    same, each ``.vcdbs`` passing SQLite's integrity_check. Raise :class:`ArchiveError`."""
    expected = {f["path"]: f for f in manifest["files"]}
    seen: set[str] = set()
    done = 0
    for member, stream in read_members(archive):
        if stream is None:
            continue
        if member.name == MANIFEST:
            inside = json.loads(stream.read())
            if inside.get("files") != manifest["files"]:
                raise ArchiveError("the manifest inside differs from the one beside")
            continue
        want = expected.get(member.name)
        if want is None:
            raise ArchiveError(f"{member.name} is not in the manifest")
        with tempfile.NamedTemporaryFile(dir=scratch, suffix=".check") if member.name.endswith(".vcdbs") \
                else contextlib.nullcontext() as copy:
            hasher = hashlib.sha256()
            for chunk in _chunks(stream):
                hasher.update(chunk)
                if copy is not None:
                    copy.write(chunk)
                done += len(chunk)
                progress(done)
            if hasher.hexdigest() != want["sha256"]:
                raise ArchiveError(f"{member.name}: SHA-256 differs from the manifest")
            if copy is not None:
                copy.flush()
                integrity_check(Path(copy.name))
        seen.add(member.name)
    if missing := set(expected) - seen:
        raise ArchiveError(f"files missing from the archive: {', '.join(sorted(missing))}")


def extract(archive: Path, manifest: dict[str, Any], target: Path, progress: Progress) -> None:
    """Extract into ``target`` (a fresh folder), checking each file against the manifest."""
    expected = {f["path"]: f for f in manifest["files"]}
    done = 0
    for member, stream in read_members(archive):
        if member.name == MANIFEST:
            continue
        path = target / member.name
        if stream is None:
            path.mkdir(parents=True, exist_ok=True)
            continue
        want = expected.get(member.name)
        if want is None:
            raise ArchiveError(f"{member.name} is not in the manifest")
        path.parent.mkdir(parents=True, exist_ok=True)
        hasher = hashlib.sha256()
        with open(path, "xb") as out:
            for chunk in _chunks(stream):
                hasher.update(chunk)
                out.write(chunk)
                done += len(chunk)
                progress(done)
            out.flush()
            os.fsync(out.fileno())
        if hasher.hexdigest() != want["sha256"]:
            raise ArchiveError(f"{member.name}: SHA-256 differs from the manifest")


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk


def integrity_check(db: Path) -> None:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        result = conn.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as exc:
        raise ArchiveError(f"the save fails SQLite's integrity_check: {exc}") from exc
    finally:
        conn.close()
    if result != [("ok",)]:
        raise ArchiveError(f"the save fails SQLite's integrity_check: {result[:3]}")


def sqlite_copy(save: Path, target: Path) -> None:
    """The save as one moment, through SQLite's backup API."""
    source = sqlite3.connect(save)  # not read-only: a WAL left by a crash is folded in
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()


def sha256_of(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def zlib_errors() -> tuple[type[Exception], ...]:
    return (gzip.BadGzipFile, zstandard.ZstdError) if zstandard is not None else (gzip.BadGzipFile,)


_READ_ERRORS: tuple[type[Exception], ...] = (tarfile.TarError, OSError, EOFError, *zlib_errors())


class _Hashing(io.RawIOBase):
    def __init__(self, source: IO[bytes], hasher: Any, count: Callable[[int], None]) -> None:
        self.source, self.hasher, self.count = source, hasher, count

    def read(self, size: int = -1) -> bytes:
        chunk = self.source.read(size)
        self.hasher.update(chunk)
        self.count(len(chunk))
        return chunk


@contextlib.contextmanager
def _open_entry(entry: Entry) -> Iterator[IO[bytes]]:
    if entry.data is not None:
        yield io.BytesIO(entry.data)
    else:
        with open(entry.source or "", "rb") as f:
            yield f


@contextlib.contextmanager
def _compressing(raw: IO[bytes], name: str) -> Iterator[Any]:
    if name.endswith(".tar.zst") and zstandard is not None:
        # closefd=False: the raw file is fsynced after the frame is finished.
        with zstandard.ZstdCompressor(level=3).stream_writer(raw, closefd=False) as writer:
            yield writer
    else:
        with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6) as writer:
            yield writer


@contextlib.contextmanager
def _decompressing(raw: IO[bytes], name: str) -> Iterator[Any]:
    if name.endswith(".tar.zst"):
        if zstandard is None:
            raise ArchiveError("reading .tar.zst needs the zstandard package")
        with zstandard.ZstdDecompressor().stream_reader(raw, closefd=False) as reader:
            yield reader
    else:
        with gzip.GzipFile(fileobj=raw, mode="rb") as reader:
            yield reader


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = ["ArchiveError", "Entry", "HostileArchive", "extract", "verify", "write_archive"]
