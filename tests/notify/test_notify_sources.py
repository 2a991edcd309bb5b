"""The console watcher of notifications is one more reader: it ends with the feed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from harness import simulator_command
from vsmanager.config.settings import Settings
from vsmanager.console.buffer import ConsoleBuffer
from vsmanager.console.feed import ConsoleFeed
from vsmanager.game.supervisor import Supervisor
from vsmanager.notify.notifier import Notifier
from vsmanager.notify.sources import watch_console


@contextlib.asynccontextmanager
async def watched() -> AsyncIterator[tuple[ConsoleFeed, asyncio.Task[None]]]:
    """A feed, and the notifications' console watcher reading it (no target configured)."""
    settings = Settings(server_command=simulator_command())
    feed = ConsoleFeed(ConsoleBuffer(1000, 1024 * 1024))
    async with Notifier(settings) as notifier:
        yield feed, asyncio.create_task(watch_console(feed, Supervisor(settings, feed), notifier))


async def test_the_console_watcher_ends_with_the_feed_and_never_spins() -> None:
    async with watched() as (feed, watcher):
        feed.publish("stdout", "a line")
        await asyncio.sleep(0.05)
        ticks = 0

        async def count() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        counter = asyncio.create_task(count())
        feed.end()
        await asyncio.wait_for(watcher, 2)
        await asyncio.sleep(0.05)
        counter.cancel()
        assert ticks > 10  # the loop kept turning: the watcher did not hold it


async def test_the_console_watcher_without_match_rules_is_not_woken_by_lines() -> None:
    # A busy console costs the notifications nothing per line unless a target matches lines;
    # players come and go with the status, which still wakes it.
    async with watched() as (feed, watcher):
        await asyncio.sleep(0.05)
        assert feed._waiters == [] and len(feed._status_waiters) == 1
        for n in range(100):
            feed.publish("stdout", f"line {n}")
        assert len(feed._status_waiters) == 1  # not woken: still the same wait
        feed.end()
        await asyncio.wait_for(watcher, 2)
