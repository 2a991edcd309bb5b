"""Whether there is room for a backup: a pure check of free space against what it needs."""

from __future__ import annotations

from dataclasses import dataclass

MARGIN = 1.5


@dataclass(frozen=True)
class SpaceShort:
    free: int
    needed: int
    basis: str

    @property
    def reason(self) -> str:
        return (f"not enough free space for a backup: {_mib(self.free)} free, {_mib(self.needed)} "
                f"needed ({MARGIN} x {self.basis})")


def check_space(free: int, last_backup_size: int | None, files_size: int) -> SpaceShort | None:
    """None when ``free`` is at least 1.5 x the last backup's size (with none yet: the files')."""
    if last_backup_size is not None:
        base, basis = last_backup_size, f"the last backup's {_mib(last_backup_size)}"
    else:
        base, basis = files_size, f"the files' {_mib(files_size)}"
    needed = int(base * MARGIN)
    return SpaceShort(free, needed, basis) if free < needed else None


def _mib(size: int) -> str:
    return f"{size / 1_048_576:.1f} MiB ({size} bytes)"
