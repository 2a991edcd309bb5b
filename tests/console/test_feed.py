"""The feed's waiting and pacing primitives, in one event loop (no sockets involved)."""

from __future__ import annotations

import asyncio
import json

import pytest
import uvloop

from harness import TIME_SCALE
from vsmanager.console.buffer import ConsoleBuffer
from vsmanager.console.feed import ConsoleFeed, JsonBatch, TickClock


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


async def test_a_reader_that_timed_out_again_and_again_leaves_nothing_behind() -> None:
    # A watcher of a quiet console times out once a second for days: no waiter may pile up.
    feed = ConsoleFeed(ConsoleBuffer(100, 1_000_000))
    for _ in range(20):
        await feed.wait(0, feed.status_version, timeout=0.001)
        await feed.wait_status(feed.status_version, timeout=0.001)
    cancelled = asyncio.create_task(feed.wait(0, feed.status_version))
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.gather(cancelled, return_exceptions=True)
    assert feed._waiters == [] and feed._status_waiters == []


async def test_a_status_reader_sleeps_through_lines_and_wakes_for_the_status() -> None:
    feed = ConsoleFeed(ConsoleBuffer(100, 1_000_000))
    reader = asyncio.create_task(feed.wait_status(feed.status_version))
    await asyncio.sleep(0)
    for n in range(100):
        feed.publish("stdout", f"line {n}")
    await asyncio.sleep(0.01 * TIME_SCALE)
    assert not reader.done()
    feed.publish_status({"state": "running"})
    await asyncio.wait_for(reader, 5 * TIME_SCALE)
    ending = asyncio.create_task(feed.wait_status(feed.status_version))
    await asyncio.sleep(0)
    feed.end()
    await asyncio.wait_for(ending, 5 * TIME_SCALE)


# Wake-up times on a shared 2-core machine are late now and then by more than a tick's
# tolerance. A clock that is wrong is wrong on every try; one late wake-up is not: a timing
# property holds if one of a few tries shows it.
TRIES = 4


async def test_ticks_fall_on_multiples_of_the_interval_and_are_shared() -> None:
    interval = 0.02

    async def offsets() -> tuple[float, float]:
        clock = TickClock()
        loop = asyncio.get_running_loop()
        woke: list[float] = []

        async def sleeper() -> None:
            await clock.next_tick(interval)
            woke.append(loop.time())

        await asyncio.wait_for(asyncio.gather(*(sleeper() for _ in range(20))), 5 * TIME_SCALE)
        boundary = round(woke[0] / interval) * interval
        return abs(woke[0] - boundary), max(woke) - min(woke)

    tries = [await offsets() for _ in range(TRIES)]
    # On a boundary, give or take a timer (well under half the interval, so a wake-up between
    # two ticks still fails), and everyone on the same tick.
    assert any(off_boundary < 0.008 and spread < 0.008 for off_boundary, spread in tries), tries


# 100 clients on a budget of 6,667 frames/s: a tick every 14.9993 ms, between milliseconds.
CROWD_TICK_S = 100 / 6667


@pytest.mark.parametrize("offset_share", [0.0, 0.5])
def test_a_sleeper_wakes_once_per_tick_when_ticks_fall_between_milliseconds(
    offset_share: float,
) -> None:
    # 100 clients on a budget of 6,667 frames/s tick every 14.9993 ms; uvloop's clock (the
    # server's loop) moves in whole milliseconds, so a tick is served up to half a
    # millisecond early. Asking for the next tick right then must not return the same tick
    # again: that was two frames per tick. Counted over the whole run rather than gap by gap:
    # a wake-up made late by a busy machine shortens the gap after it, but a run of wake-ups
    # can only take longer for it, never as short as two a tick makes it.
    interval = CROWD_TICK_S
    wakes = 12

    async def wake_times() -> list[float]:
        clock = TickClock()
        loop = asyncio.get_running_loop()
        woke: list[float] = []
        for _ in range(wakes):
            tick = clock.next_tick(interval, offset_share * interval)
            await asyncio.wait_for(tick, 5 * TIME_SCALE)
            woke.append(loop.time())
        return woke

    woke = uvloop.run(wake_times())
    # Once a tick: the second wake-up's tick comes after the first wake-up (however late that
    # was), and nine more ticks follow it, so at least 10 intervals lie between the first
    # wake-up and the last; twice a tick would make it about 5.5.
    assert woke[-1] - woke[0] > (wakes - 2) * interval, woke


@pytest.mark.parametrize("offset_share", [0.0, 0.5])
def test_callbacks_that_ask_for_their_next_tick_run_together_once_per_tick(
    offset_share: float,
) -> None:
    # The broadcast's way (stream/broadcast.py): a tick's callbacks run in one go, and each
    # asks for its next tick from within; none may run twice on one tick, and the timer
    # armed after them must not be lost. Counted over the whole run, as above. (uvloop's
    # clock may move on a millisecond between two callbacks of one tick: their times are
    # not compared.)
    interval = CROWD_TICK_S
    ticks = 12

    async def calls() -> list[list[float]]:
        clock = TickClock()
        loop = asyncio.get_running_loop()
        called: list[list[float]] = [[], [], []]
        done = loop.create_future()

        def callback(index: int) -> None:
            called[index].append(loop.time())
            if len(called[index]) < ticks:
                clock.call_at(clock.next_time(interval, offset_share * interval),
                              lambda: callback(index))
            elif all(len(times) == ticks for times in called) and not done.done():
                done.set_result(None)

        when = clock.next_time(interval, offset_share * interval)
        for index in range(3):
            clock.call_at(when, lambda index=index: callback(index))
        await asyncio.wait_for(done, 5 * TIME_SCALE)
        return called

    called = uvloop.run(calls())
    for times in called:  # each got all its ticks (or the run would have timed out) ...
        assert times[-1] - times[0] > (ticks - 2) * interval, times  # ... once a tick


async def test_a_cancelled_sleeper_does_not_hold_the_others() -> None:
    clock = TickClock()

    async def sleep_until_tick(interval: float) -> None:
        await clock.next_tick(interval)

    quitter = asyncio.create_task(sleep_until_tick(0.5))
    stayer = asyncio.create_task(sleep_until_tick(0.01))
    await asyncio.sleep(0)
    quitter.cancel()
    await asyncio.wait_for(stayer, 5 * TIME_SCALE)
    assert quitter.cancelled()


def test_a_json_batch_is_read_and_encoded_once_per_cursor() -> None:
    feed = ConsoleFeed(ConsoleBuffer(100, 1_000_000))
    for n in range(3):
        feed.publish("stdout", f"line {n}")
    first = feed.json_batch(0, 10, 1000)
    assert feed.json_batch(0, 10, 1000) is first
    assert (first.gap, first.count, first.end) == (None, 3, 3)
    frame = json.loads(first.frame)
    assert frame["type"] == "lines"
    assert [line["text"] for line in frame["lines"]] == ["line 0", "line 1", "line 2"]
    assert feed.json_batch(1, 10, 1000).count == 2  # another cursor: another batch


def test_a_new_line_makes_a_fresh_json_batch_for_the_same_cursor() -> None:
    feed = ConsoleFeed(ConsoleBuffer(100, 1_000_000))
    feed.publish("stdout", "one")
    before = feed.json_batch(0, 10, 1000)
    feed.publish("stdout", "two")
    after = feed.json_batch(0, 10, 1000)
    assert (before.count, after.count) == (1, 2)


def test_a_json_batch_after_eviction_carries_the_gap() -> None:
    feed = ConsoleFeed(ConsoleBuffer(2, 1_000_000))
    for n in range(5):
        feed.publish("stdout", f"line {n}")
    batch = feed.json_batch(0, 10, 1000)
    assert batch.gap is not None and (batch.gap.from_seq, batch.gap.to_seq) == (1, 3)
    assert (batch.count, batch.end) == (2, 5)


def test_a_json_batch_with_no_line_left_ends_after_the_gap() -> None:
    feed = ConsoleFeed(ConsoleBuffer(2, 1_000_000))
    for n in range(5):
        feed.publish("stdout", f"line {n}")
    assert feed.json_batch(5, 10, 1000) == JsonBatch(None, "", 0, 5)
