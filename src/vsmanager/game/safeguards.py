"""What keeps the game single and never orphaned, across its runs: the world's instance lock,
each run's supervisor of last resort, and the leftover processes that held its console."""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog

from vsmanager.config.settings import Settings
from vsmanager.console.feed import ConsoleFeed
from vsmanager.game.instance_lock import InstanceLock, InstanceLocked, lock_directory
from vsmanager.game.last_resort import LastResort
from vsmanager.game.leftovers import Leftovers
from vsmanager.game.restart_policy import describe_seconds

LOCK_POLL_S = 0.1
# At vsmanager's exit, how long each last resort gets to see the game gone and exit (one that
# was started a moment ago may still be starting Python on a busy machine).
END_WAIT_S = 3.0

log = structlog.get_logger("vsmanager.supervisor")


class Safeguards:
    def __init__(self, settings: Settings, feed: ConsoleFeed) -> None:
        self._settings = settings
        self._feed = feed
        self.lock = InstanceLock(lock_directory(settings.server_argv, settings.server_workdir))
        self.leftovers = Leftovers()
        self.last_resorts: set[LastResort] = set()
        self._lock_warned = False

    def take_lock(self) -> None:
        """Hold the world's lock before a start; raises :class:`InstanceLocked` (said in the
        console) while another vsmanager's game holds it."""
        try:
            self.lock.acquire()
        except InstanceLocked as exc:
            self._feed.publish("system", f"server not started: {exc}")
            # In vsmanager's own log too: whoever started it may never open the console.
            log.warning("server_not_started", reason=str(exc), holder=exc.holder)
            raise
        except OSError as exc:
            # A read-only working directory should not keep the game from running.
            if not self._lock_warned:
                self._lock_warned = True
                self._feed.publish("system", f"warning: no instance lock ({self.lock.path}: "
                                             f"{exc.strerror or exc}); running without one")

    async def wait_for_lock(self, budget: float) -> None:
        """Wait up to ``budget`` seconds for the lock to be free, and take it if it is."""
        self._feed.publish("system", f"waiting up to {describe_seconds(budget)} for the lock")
        log.info("waiting_for_lock", seconds=budget)
        deadline = time.monotonic() + budget
        while time.monotonic() < deadline:
            await asyncio.sleep(LOCK_POLL_S)
            with contextlib.suppress(InstanceLocked, OSError):
                self.lock.acquire()
                return

    def spawn_last_resort(self) -> LastResort | None:
        """A helper, started before the game, that stops the game the way vsmanager would
        should vsmanager be killed (:meth:`LastResort.attach` names the game to it)."""
        settings = self._settings
        try:
            last_resort = LastResort.spawn(settings.server_stop_command, settings.server_stop_timeout,
                                           settings.server_kill_timeout, self.lock.fd)
        except OSError as exc:
            self._feed.publish("system", f"warning: no supervisor of last resort ({exc})")
            return None
        self.last_resorts.add(last_resort)
        # It holds the game's console on purpose: never a leftover.
        self.leftovers.helpers.add(last_resort.pid)
        return last_resort

    async def release(self, last_resort: LastResort, timeout: float) -> None:
        """The run is over: let its last resort go, and forget it once it has gone."""
        last_resort.release()
        if await last_resort.wait(timeout):
            self.last_resorts.discard(last_resort)
            self.leftovers.helpers.discard(last_resort.pid)

    def drop(self, last_resort: LastResort) -> None:
        """The game never started: its last resort has nothing to guard."""
        last_resort.discard()
        self.last_resorts.discard(last_resort)
        self.leftovers.helpers.discard(last_resort.pid)

    async def end(self) -> None:
        """vsmanager is exiting: end the leftovers, let every last resort go, free the lock."""
        await self.leftovers.end()
        for last_resort in list(self.last_resorts):
            await self.release(last_resort, END_WAIT_S)
        self.lock.release()
