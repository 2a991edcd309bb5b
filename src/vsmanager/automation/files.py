"""Reading and writing the schedules file and its state file: whole files written atomically
(a reader sees the old file or the new, never half), changes noticed by a cheap stat()."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

# Either file is a few kilobytes; one larger than this is no schedules file.
MAX_FILE_BYTES = 1024 * 1024

Signature = tuple[int, int, int, int] | None


def write_atomically(path: Path, text: str, mode: int = 0o600) -> None:
    """Write a sibling temporary file, flush it to disk, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def read_text(path: Path) -> str | None:
    """The file's text; None when it does not exist. Raises OSError or ValueError (too large,
    not UTF-8) with a message fit for a person."""
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return None
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"{path} is larger than {MAX_FILE_BYTES // 1024} KiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text") from None


def signature(path: Path) -> Signature:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
