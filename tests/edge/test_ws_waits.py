"""The WebSocket's inbox and writable flag: asyncio.Queue's and asyncio.Event's behaviour
where uvicorn and the console use it, checked against them where it can be."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vsmanager.edge.ws_waits import Flag, Inbox

TIMEOUT_S = 5.0


@settings(max_examples=200, deadline=None, database=None)
@given(ops=st.lists(st.one_of(st.integers(0, 99), st.none()), max_size=80))
def test_the_inbox_gives_what_a_queue_gives(ops: list[int | None]) -> None:
    # An int is put, None takes one (when there is one), in the same order for both.
    async def run() -> None:
        inbox: Inbox[int] = Inbox(asyncio.get_running_loop())
        queue: asyncio.Queue[int] = asyncio.Queue()
        for op in ops:
            if op is not None:
                inbox.put_nowait(op)
                queue.put_nowait(op)
            elif not queue.empty():
                assert inbox.get_nowait() == queue.get_nowait()
            assert (inbox.empty(), inbox.qsize()) == (queue.empty(), queue.qsize())
        while not queue.empty():
            assert await inbox.get() == await queue.get()
        with pytest.raises(asyncio.QueueEmpty):
            inbox.get_nowait()

    asyncio.run(run())


async def test_a_get_waits_for_the_next_put() -> None:
    inbox: Inbox[str] = Inbox(asyncio.get_running_loop())
    getter = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    assert not getter.done()
    inbox.put_nowait("connect")
    assert await asyncio.wait_for(getter, TIMEOUT_S) == "connect"


async def test_each_put_wakes_one_getter_in_turn() -> None:
    inbox: Inbox[int] = Inbox(asyncio.get_running_loop())
    getters = [asyncio.create_task(inbox.get()) for _ in range(3)]
    await asyncio.sleep(0)
    for item in (1, 2, 3):
        inbox.put_nowait(item)
    assert await asyncio.wait_for(asyncio.gather(*getters), TIMEOUT_S) == [1, 2, 3]


async def test_a_getter_cancelled_after_its_wake_up_leaves_the_item_to_the_next() -> None:
    inbox: Inbox[str] = Inbox(asyncio.get_running_loop())
    first = asyncio.create_task(inbox.get())
    second = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait("only")  # wakes the first ...
    first.cancel()  # ... which is cancelled before it runs
    assert await asyncio.wait_for(second, TIMEOUT_S) == "only"
    assert first.cancelled() and inbox.empty()


async def test_the_flag_waits_until_set_and_not_once_set() -> None:
    flag = Flag(asyncio.get_running_loop())
    waiters = [asyncio.create_task(flag.wait()) for _ in range(2)]
    await asyncio.sleep(0)
    assert not flag.is_set() and not any(waiter.done() for waiter in waiters)
    flag.set()
    assert flag.is_set()
    assert await asyncio.wait_for(asyncio.gather(*waiters), TIMEOUT_S) == [True, True]
    assert await asyncio.wait_for(flag.wait(), TIMEOUT_S) is True  # at once while set


async def test_a_cleared_flag_waits_again_and_a_cancelled_waiter_is_forgotten() -> None:
    flag = Flag(asyncio.get_running_loop())
    flag.set()
    flag.clear()
    gone = asyncio.create_task(flag.wait())
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.gather(gone, return_exceptions=True)
    waiter = asyncio.create_task(flag.wait())
    await asyncio.sleep(0)
    assert not waiter.done()
    flag.set()
    assert await asyncio.wait_for(waiter, TIMEOUT_S) is True
    assert gone.cancelled()
