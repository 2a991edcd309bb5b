"""What a WebSocket connection waits on: its inbox and whether its socket takes more.

uvicorn gives every WebSocket an ``asyncio.Queue`` (three deques and an ``Event`` with a
fourth) for what the app will ``receive()``, and an ``asyncio.Event`` for ``writable``. A
deque costs some 700 bytes before it holds anything, so these two are about 3.5 KiB of every
idle console connection, a tenth of all it holds. :class:`Inbox` and :class:`Flag` are the
parts of them that uvicorn and the console use, holding nothing while nobody waits.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Generic, Literal, TypeVar

T = TypeVar("T")


class Inbox(Generic[T]):
    """``asyncio.Queue``'s ``put_nowait``, ``get``, ``get_nowait``, ``empty`` and ``qsize``,
    unbounded (uvicorn stops reading the socket while anything waits in it)."""

    __slots__ = ("_getters", "_head", "_items", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._items: list[T] = []
        self._head = 0  # items before it were taken; the list is emptied when all were
        self._getters: list[asyncio.Future[None]] | None = None

    def empty(self) -> bool:
        return self._head == len(self._items)

    def qsize(self) -> int:
        return len(self._items) - self._head

    def put_nowait(self, item: T) -> None:
        self._items.append(item)
        self._wake_one()

    def get_nowait(self) -> T:
        if self.empty():
            raise asyncio.QueueEmpty
        items, head = self._items, self._head
        item = items[head]
        if head + 1 == len(items):
            items.clear()
            self._head = 0
        else:
            self._head = head + 1
        return item

    async def get(self) -> T:
        while self.empty():
            getter, self._getters = _enlist(self._loop, self._getters)
            try:
                await getter
            except BaseException:
                getter.cancel()
                _forget(self._getters, getter)
                if not self.empty():
                    self._wake_one()  # woken, then cancelled: the item is another's
                raise
        return self.get_nowait()

    def _wake_one(self) -> None:
        getters = self._getters
        while getters:
            getter = getters.pop(0)
            if not getter.done():
                getter.set_result(None)
                return


class Flag:
    """``asyncio.Event``'s ``is_set``, ``set``, ``clear`` and ``wait``; ``up`` is ``is_set()``
    as a plain attribute, for the broadcast's check of each client of a crowd at each tick."""

    __slots__ = ("_loop", "_waiters", "up")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.up = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self.up

    def set(self) -> None:
        if self.up:
            return
        self.up = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self.up = False

    async def wait(self) -> Literal[True]:
        if self.up:
            return True
        waiter, self._waiters = _enlist(self._loop, self._waiters)
        try:
            await waiter
        finally:
            _forget(self._waiters, waiter)  # set() has let go of the list already
        return True


# The waiter lists start empty as None (an empty list is 56 bytes a connection, twice).

def _enlist(loop: asyncio.AbstractEventLoop, waiters: list[asyncio.Future[None]] | None,
            ) -> tuple[asyncio.Future[None], list[asyncio.Future[None]]]:
    """A new waiter, and the list it was added to (made if there was none)."""
    waiter: asyncio.Future[None] = loop.create_future()
    if waiters is None:
        waiters = []
    waiters.append(waiter)
    return waiter, waiters


def _forget(waiters: list[asyncio.Future[None]] | None, waiter: asyncio.Future[None]) -> None:
    """Take a waiter that is done waiting out of its list, if it is still in one."""
    if waiters is not None:
        with contextlib.suppress(ValueError):
            waiters.remove(waiter)
