"""The feed's waiting and pacing primitives, in one event loop (no sockets involved)."""

from __future__ import annotations

import asyncio

from harness import TIME_SCALE
from vsmanager.console import ConsoleBuffer
from vsmanager.feed import ConsoleFeed, TickClock


async def test_a_published_line_wakes_every_waiting_reader() -> None:
    feed = ConsoleFeed(ConsoleBuffer(100, 1_000_000))
    readers = [asyncio.create_task(feed.wait(0, feed.status_version)) for _ in range(50)]
    await asyncio.sleep(0)
    assert not any(task.done() for task in readers)
    feed.publish("stdout", "hello")
    await asyncio.wait_for(asyncio.gather(*readers), 5 * TIME_SCALE)


async def test_wait_returns_at_once_when_the_reader_is_behind() -> None:
    feed = ConsoleFeed(ConsoleBuffer(100, 1_000_000))
    feed.publish("stdout", "already there")
    await asyncio.wait_for(feed.wait(0, feed.status_version), 0.1 * TIME_SCALE)


async def test_a_status_change_wakes_readers() -> None:
    feed = ConsoleFeed(ConsoleBuffer(100, 1_000_000))
    reader = asyncio.create_task(feed.wait(0, feed.status_version))
    await asyncio.sleep(0)
    feed.publish_status({"state": "running"})
    await asyncio.wait_for(reader, 5 * TIME_SCALE)


async def test_a_cancelled_reader_is_forgotten() -> None:
    feed = ConsoleFeed(ConsoleBuffer(100, 1_000_000))
    reader = asyncio.create_task(feed.wait(0, feed.status_version, timeout=0.01))
    await asyncio.wait_for(reader, 5 * TIME_SCALE)
    assert feed._waiters == []


async def test_ticks_fall_on_multiples_of_the_interval_and_are_shared() -> None:
    clock = TickClock()
    loop = asyncio.get_running_loop()
    interval = 0.02
    woke: list[float] = []

    async def sleeper() -> None:
        await clock.next_tick(interval)
        woke.append(loop.time())

    await asyncio.wait_for(asyncio.gather(*(sleeper() for _ in range(20))), 5 * TIME_SCALE)
    boundary = round(woke[0] / interval) * interval
    assert abs(woke[0] - boundary) < 0.003 * TIME_SCALE  # on a boundary, give or take a timer
    assert max(woke) - min(woke) < 0.003 * TIME_SCALE  # everyone on the same tick


async def test_a_cancelled_sleeper_does_not_hold_the_others() -> None:
    clock = TickClock()
    quitter = asyncio.create_task(clock.next_tick(0.5))
    stayer = asyncio.create_task(clock.next_tick(0.01))
    await asyncio.sleep(0)
    quitter.cancel()
    await asyncio.wait_for(stayer, 5 * TIME_SCALE)
    assert quitter.cancelled()


def test_lines_frame_is_built_once_per_range() -> None:
    feed = ConsoleFeed(ConsoleBuffer(100, 1_000_000))
    for n in range(3):
        feed.publish("stdout", f"line {n}")
    lines = feed.buffer.read_after(0, 10).lines
    first = feed.lines_frame(lines)
    assert feed.lines_frame(list(lines)) is first
    assert first.startswith('{"type":"lines","lines":[{"seq":1,')
    assert feed.lines_frame(lines[1:]) != first
