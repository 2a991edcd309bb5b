"""The supervisor of last resort: a tiny process beside each run of the game that ends the
game's whole process group if vsmanager dies without doing so (SIGKILL, OOM kill, a crash).

It reads a pipe from vsmanager. End of file means vsmanager is done with this run, or gone:
if the game's group still has a live process, it gets SIGTERM, then after the kill timeout
SIGKILL. The process also holds a copy of vsmanager's instance lock until the group is gone,
so the next vsmanager cannot start a second game on the same world while this one saves.
See docs/reliability.md. It imports only the standard library and procfs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time

from vsmanager.game.procfs import group_alive

POLL_S = 0.05
# After SIGKILL, how long to wait for the group's processes to be gone before giving up.
KILL_WAIT_S = 10.0


def _say(text: str) -> None:
    print(f"vsmanager last resort: {text}", file=sys.stderr, flush=True)


def _wait_gone(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while group_alive(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_S)
    return True


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    pgid, kill_timeout = int(args[0]), float(args[1])
    # A Ctrl+C or a hang-up meant for vsmanager is not for us: we end when our pipe does.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        while os.read(0, 4096):
            pass
    if not group_alive(pgid):
        return 0
    _say(f"vsmanager is gone and the game (process group {pgid}) is not; sending SIGTERM")
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    if _wait_gone(pgid, kill_timeout):
        return 0
    _say(f"the game did not exit {kill_timeout:g} s after SIGTERM; sending SIGKILL")
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    return 0 if _wait_gone(pgid, KILL_WAIT_S) else 1


class LastResort:
    """vsmanager's side: spawn one per run, :meth:`release` when the run is over."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process

    @classmethod
    def spawn(cls, pgid: int, kill_timeout: float, lock_fd: int | None) -> LastResort:
        process = subprocess.Popen(
            [sys.executable, "-m", "vsmanager.game.last_resort", str(pgid), f"{kill_timeout:g}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            pass_fds=() if lock_fd is None else (lock_fd,),
            # Its own session: a terminal's Ctrl+C or hang-up, or a signal to vsmanager's
            # group, must not take it down with vsmanager.
            start_new_session=True,
        )
        return cls(process)

    @property
    def pid(self) -> int:
        return self.process.pid

    def release(self) -> None:
        """vsmanager is done with the run: the process checks the group once and exits."""
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()

    async def wait(self, timeout: float) -> bool:
        """Reap it (bounded); False if it is still busy ending the group."""
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(POLL_S)
        return True


if __name__ == "__main__":
    sys.exit(main())
