"""One run of the backup process (child.py), started and read from a thread of its own.

Why a thread: an asyncio subprocess under uvloop is started with ``fork`` on the event
loop's thread, which copies vsmanager's page tables and then waits for the child's ``exec``;
perf showed the loop held 7 ms each time (3.9 ms copying, 3.4 ms blocked on libuv's exec
pipe), twice a backup, with no console line moving. ``subprocess.Popen`` starts the child
with ``vfork`` and lets go of the interpreter lock meanwhile, so from a thread the loop does
not notice (a process of 800 MiB: ``fork`` held its caller 45.7 ms; ``Popen`` in a thread
delayed the main thread by 0.45 ms at worst).

The thread lives as long as the child: the child asks for SIGKILL when the thread that
started it ends (PR_SET_PDEATHSIG belongs to the thread), which is what makes a killed
vsmanager never leave it writing.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import threading
from typing import Any, Protocol

from vsmanager.backups import archive

STDERR_KEPT = 500  # characters of the child's stderr in an error message


class ChildFailed(Exception):
    """The backup process failed other than on a bad archive (e.g. a full disk)."""


class ProgressSink(Protocol):
    bytes_done: int


class ChildRun:
    """One request to child.py: :meth:`result` runs it and returns its value."""

    def __init__(self, request: dict[str, Any], progress: ProgressSink | None = None) -> None:
        self._request = json.dumps(request).encode()
        self._progress = progress
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._killed = False

    async def result(self) -> Any:
        """The child's value; raises ArchiveError or ChildFailed as it fails. Cancelled, it
        kills the child (its thread then sees the end and finishes)."""
        try:
            answer, code, stderr = await asyncio.to_thread(self._run)
        except asyncio.CancelledError:
            self.kill()
            raise
        if answer is None:
            raise ChildFailed(f"the backup process exited with {code}: {stderr[-STDERR_KEPT:]}")
        if "error" in answer:
            error = archive.ArchiveError if answer["error"] == "archive" else ChildFailed
            raise error(answer["message"])
        return answer["value"]

    def kill(self) -> None:
        with self._lock:
            self._killed = True
            if self._process is not None and self._process.poll() is None:
                self._process.kill()

    def _run(self) -> tuple[dict[str, Any] | None, int, str]:
        """In the thread: start the child, give it the request, read its progress and its
        result line, reap it. Its stderr goes to a file, so a chatty child cannot block on a
        pipe nobody reads while its stdout is read."""
        with tempfile.TemporaryFile() as errors:
            with self._lock:
                if self._killed:
                    return None, -9, "cancelled before it started"
                process = subprocess.Popen(
                    [sys.executable, "-m", "vsmanager.backups.child"],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors)
                self._process = process
            assert process.stdin is not None and process.stdout is not None
            answer: dict[str, Any] | None = None
            try:
                try:
                    process.stdin.write(self._request)
                    process.stdin.close()
                except BrokenPipeError:
                    pass  # it died first: its exit code and stderr say why
                for raw in process.stdout:
                    kind, _, rest = raw.decode().rstrip("\n").partition(" ")
                    if kind == "progress" and self._progress is not None:
                        self._progress.bytes_done = int(rest)
                    elif kind == "result":
                        answer = json.loads(rest)
            finally:
                process.stdout.close()
                if process.poll() is None and answer is None:
                    process.kill()
                code = process.wait()
            errors.seek(0)
            return answer, code, errors.read().decode(errors="replace").strip()
