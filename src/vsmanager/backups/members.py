"""Whether an archive's members may be extracted under the data folder: a pure check.

Refused whole, never rewritten: absolute paths, ``..`` anywhere, links (symbolic or hard),
devices, FIFOs: anything but regular files and directories.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterable
from pathlib import PurePosixPath


class HostileArchive(ValueError):
    """An archive holds a member that could leave the data folder or is no plain file."""


def check_members(members: Iterable[tarfile.TarInfo]) -> None:
    for member in members:
        check_member(member)


def check_member(member: tarfile.TarInfo) -> None:
    name = member.name
    path = PurePosixPath(name)
    if not name or name.startswith("/") or path.is_absolute() or "\\" in name or ":" in path.parts[0]:
        raise HostileArchive(f"member {name!r} has an absolute path")
    if ".." in path.parts:
        raise HostileArchive(f"member {name!r} climbs out with '..'")
    if member.issym() or member.islnk():
        raise HostileArchive(f"member {name!r} is a link (to {member.linkname!r})")
    if not (member.isfile() or member.isdir()):
        raise HostileArchive(f"member {name!r} is a device, FIFO or other special file")
