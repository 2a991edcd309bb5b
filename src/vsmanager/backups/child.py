"""The heavy work of a backup in a process of its own: writing, verifying and extracting
archives, and copying a SQLite save.

Why a process and not a thread: a thread of vsmanager's shares its interpreter lock with the
event loop. Lowered in priority, it is descheduled while it holds that lock and the loop
waits for it (the console's p99 went from 94 ms to 1.7 s during a 256 MiB backup on a busy
machine); not lowered, it takes the CPU from the game. A child in the idle CPU policy and
the idle I/O class holds no lock the loop needs, and dies with the thread of vsmanager that
started and reads it (PR_SET_PDEATHSIG; child_run.py), so a killed vsmanager never leaves it
writing.

Protocol: the request is one JSON object on stdin; the child prints ``progress N`` lines,
then one ``result <json>`` line (``{"value": …}`` or ``{"error": kind, "message": …}``).
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import json
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vsmanager.backups.priority import lower_this_thread

if TYPE_CHECKING:
    from vsmanager.backups import archive

_PR_SET_PDEATHSIG = 1
PROGRESS_EVERY = 4 << 20  # bytes between progress lines


def encode_entries(entries: list[archive.Entry]) -> list[dict[str, Any]]:
    return [{"name": e.name, "source": str(e.source) if e.source is not None else None,
             "data": base64.b64encode(e.data).decode() if e.data is not None else None} for e in entries]


def _decode_entries(found: list[dict[str, Any]]) -> list[archive.Entry]:
    from vsmanager.backups import archive

    return [archive.Entry(e["name"], Path(e["source"]) if e["source"] else None,
                          base64.b64decode(e["data"]) if e["data"] is not None else None) for e in found]


class _Progress:
    def __init__(self) -> None:
        self.told = 0

    def __call__(self, n: int) -> None:
        if n - self.told >= PROGRESS_EVERY:
            self.told = n
            print(f"progress {n}", flush=True)


def _run(request: dict[str, Any]) -> Any:
    from vsmanager.backups import archive

    op, progress = request["op"], _Progress()
    if op == "write":
        return archive.write_archive(Path(request["target"]), _decode_entries(request["entries"]),
                                     request["manifest"], progress)
    if op == "verify":
        return archive.verify(Path(request["archive"]), request["manifest"], Path(request["scratch"]), progress)
    if op == "extract":
        return archive.extract(Path(request["archive"]), request["manifest"], Path(request["target"]), progress)
    if op == "sqlite_copy":
        return archive.sqlite_copy(Path(request["save"]), Path(request["target"]))
    raise ValueError(f"unknown operation {op!r}")


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def main() -> int:
    _die_with_parent()
    lower_this_thread()  # the child's one thread: the whole child
    # Imported only now, at the idle priority: archive's imports (zstandard, tarfile, sqlite3)
    # are the start-up's CPU, and at the parent's priority they took it from the console.
    from vsmanager.backups import archive
    from vsmanager.backups.members import HostileArchive

    request = json.loads(sys.stdin.read())
    try:
        result: dict[str, Any] = {"value": _run(request)}
    except (archive.ArchiveError, HostileArchive, ValueError) as exc:
        result = {"error": "archive", "message": str(exc)}
    except Exception as exc:  # told to the parent, which fails the step with it
        result = {"error": "other", "message": str(exc)}
    print(f"result {json.dumps(result)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
