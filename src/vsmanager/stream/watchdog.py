"""One task that closes the console clients whose sends have waited too long."""

from __future__ import annotations

import asyncio
from typing import Protocol


class WatchedSession(Protocol):
    """What the watchdog needs of a session: when its pending send began, and a way out."""

    @property
    def sending_since(self) -> float | None: ...

    def give_up(self) -> None: ...


class SendWatchdog:
    """Closes clients whose sends have waited longer than the send timeout (4008).

    One task for all clients, checking a few times per timeout.
    """

    def __init__(self, send_timeout: float) -> None:
        self.send_timeout = send_timeout
        self._sessions: set[WatchedSession] = set()
        self._task: asyncio.Task[None] | None = None

    def watch(self, session: WatchedSession) -> None:
        self._sessions.add(session)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._patrol(), name="send-watchdog")

    def forget(self, session: WatchedSession) -> None:
        self._sessions.discard(session)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _patrol(self) -> None:
        loop = asyncio.get_running_loop()
        period = min(1.0, self.send_timeout / 4)
        while self._sessions:
            await asyncio.sleep(period)
            now = loop.time()
            for session in list(self._sessions):
                since = session.sending_since
                if since is not None and now - since >= self.send_timeout:
                    self._sessions.discard(session)
                    session.give_up()
