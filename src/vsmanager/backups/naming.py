"""Backup names: ``<world>-<YYYYMMDDTHHMMSSZ>.tar.zst`` (``.tar.gz`` without zstd)."""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime, timedelta

EXTENSIONS = (".tar.zst", ".tar.gz")
_NAME = re.compile(r"^(?P<world>.+)-(?P<stamp>\d{8}T\d{6}Z)(?:-(?P<n>\d+))?(?P<ext>\.tar\.(?:zst|gz))$")


def archive_name(world: str, when: datetime, extension: str, taken: AbstractSet[str] = frozenset()) -> str:
    """The name for a backup of ``world`` at ``when``; a second backup within the same
    second gets ``-2``, ``-3``… so no name is ever reused."""
    stamp = when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    # After the newest one taken in that second, not in the first gap: retention may have
    # deleted an older one, and a name reused there would sort before the backups it follows.
    same_second = [_NAME.match(name) for name in taken]
    numbers = [int(m["n"] or 1) for m in same_second
               if m is not None and m["world"] == world and m["stamp"] == stamp]
    if not numbers:
        return f"{world}-{stamp}{extension}"
    return f"{world}-{stamp}-{max(numbers) + 1}{extension}"


def backup_id(name: str) -> str:
    """A backup's id: its archive's name without the extension."""
    for extension in EXTENSIONS:
        if name.endswith(extension):
            return name[: -len(extension)]
    raise ValueError(f"not a backup archive: {name}")


def parse_time(name: str) -> datetime | None:
    match = _NAME.match(name)
    if match is None:
        return None
    when = datetime.strptime(match["stamp"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    # A second backup within the same second (-2, -3…) sorts after the first.
    return when + timedelta(microseconds=int(match["n"] or 1) - 1)


def is_archive_name(name: str) -> bool:
    return _NAME.match(name) is not None
