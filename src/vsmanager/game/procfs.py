"""What Linux's /proc says about processes: liveness, process groups, who holds a pipe.

Standard library only: the supervisor of last resort imports it too.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable, Iterator

PROC = "/proc"


def _pids() -> Iterator[int]:
    with contextlib.suppress(OSError):
        for name in os.listdir(PROC):
            if name.isdigit():
                yield int(name)


def _state_and_group(pid: int) -> tuple[str, int] | None:
    try:
        with open(f"{PROC}/{pid}/stat", "rb") as file:
            text = file.read().decode(errors="replace")
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = text[text.rfind(")") + 2 :].split()
    return fields[0], int(fields[2])


def is_alive(pid: int) -> bool:
    """Running or sleeping: not gone, not a zombie waiting to be reaped."""
    found = _state_and_group(pid)
    return found is not None and found[0] not in ("Z", "X")


def group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process is in the process group ``pgid``."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # killpg also succeeds for zombies nobody has reaped yet; they hold nothing.
    return any(
        found is not None and found[1] == pgid and found[0] not in ("Z", "X")
        for found in map(_state_and_group, _pids())
    )


def pipe_inodes(pid: int, fds: Iterable[int] = (0, 1, 2)) -> set[int]:
    """The inodes of the pipes on a process's ``fds`` (those that are pipes)."""
    inodes = set()
    for fd in fds:
        with contextlib.suppress(OSError):
            info = os.stat(f"{PROC}/{pid}/fd/{fd}")
            if stat.S_ISFIFO(info.st_mode):
                inodes.add(info.st_ino)
    return inodes


def pipe_holders(inodes: set[int], exclude: Iterable[int] = ()) -> list[int]:
    """The live processes (ours to see) holding an end of any of these pipes."""
    if not inodes:
        return []
    wanted = {f"pipe:[{inode}]" for inode in inodes}
    skip = set(exclude)
    holders = []
    for pid in _pids():
        if pid in skip:
            continue
        try:
            fds = os.listdir(f"{PROC}/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"{PROC}/{pid}/fd/{fd}") in wanted:
                    if is_alive(pid):
                        holders.append(pid)
                    break
            except OSError:
                continue
    return sorted(holders)


def command_name(pid: int) -> str:
    try:
        with open(f"{PROC}/{pid}/comm", "rb") as file:
            return file.read().decode(errors="replace").strip()
    except OSError:
        return "?"
