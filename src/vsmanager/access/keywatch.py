"""Re-reads the keys file on SIGHUP and when it changes (its inode, mtime or size). Without a
keys file it still answers SIGHUP (`systemctl reload`), with a log line saying nothing changed:
a hang-up never ends vsmanager."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path
from typing import Any

import structlog

from vsmanager.access.gatekeeper import Gatekeeper

log = structlog.get_logger("vsmanager.auth")

# A removed key must stop working and its sockets close within 5 s; a poll a second costs
# one stat() call.
POLL_INTERVAL_S = 1.0

Signature = tuple[int, int, int, int] | None


class KeysFileWatcher:
    def __init__(self, gatekeeper: Gatekeeper, path: Path | None,
                 interval: float = POLL_INTERVAL_S) -> None:
        self.gatekeeper = gatekeeper
        self.path = path
        self.interval = interval
        self._hangup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._signal_installed = False
        self._previous_hangup: Any = None

    async def __aenter__(self) -> KeysFileWatcher:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            # Only in the main thread's loop; elsewhere (tests in threads) the poll remains.
            self._previous_hangup = signal.getsignal(signal.SIGHUP)
            loop.add_signal_handler(signal.SIGHUP, self._hangup.set)
            self._signal_installed = True
        self._task = asyncio.create_task(self._watch(_signature(self.path)), name="keys-file-watcher")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._signal_installed:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            # Not SIG_DFL, which asyncio leaves: a hang-up while vsmanager exits must not end it.
            if self._previous_hangup is not None:
                signal.signal(signal.SIGHUP, self._previous_hangup)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _watch(self, seen: Signature) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hangup.wait(), self.interval)
            hangup = self._hangup.is_set()
            self._hangup.clear()
            current = _signature(self.path)
            if hangup or current != seen:
                seen = current
                try:
                    self.gatekeeper.reload("SIGHUP" if hangup else "file changed")
                except Exception:
                    log.exception("keys_reload_failed")


def _signature(path: Path | None) -> Signature:
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
