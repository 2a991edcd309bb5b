"""Caught-up clients served together: what each is owed is written as it comes, or at its tick.

A client that has sent everything there is parks here instead of waiting for the feed in
its own task. When lines come, one callback a loop turn writes each parked client's share
(the same prebuilt bytes for every client at the same cursor) straight to its socket, as
``websockets.broadcast`` does: no task is woken, however many clients. A paced client (a
crowd shares the frame budget) that has just been written waits for its next tick on the
feed's clock instead, and the tick's one callback writes each client due then: a crowd in
step costs a write per client per tick, and no task wake-up. A client whose socket is not
taking more, or that is owed anything but lines (a gap, a status, the end), is woken instead
and runs its own loop, which waits for its socket alone: nobody else waits for it. See
docs/streaming.md ("Caught-up clients are served together").
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from typing import Protocol

from vsmanager.console.buffer import Gap
from vsmanager.console.feed import ConsoleFeed

# What a parked client's deliver() returns, besides the loop time of the tick it is to be
# served at next (once it has been written, when paced): run its own loop, or wait for lines.
WAKE = -1.0
QUIET = 0.0


class TickMemo:
    """What the clients served in one call of the broadcast share: the frames owed at one
    cursor, and the next tick of one pacing. A crowd in step is mostly one cursor and one
    pacing, so each client's share is a lookup here rather than a read of the buffer, a
    cache key and a clock computation of its own. Valid for that one call: no line can come
    while it runs."""

    __slots__ = ("cursor", "json", "next_tick", "owed", "pacing")

    def __init__(self) -> None:
        self.cursor = -1
        self.json = False
        self.owed: tuple[Gap | None, bytes, int, int] | None = None
        self.pacing: tuple[float, float] | None = None
        self.next_tick = 0.0


class ParkedClient(Protocol):
    def deliver(self, memo: TickMemo | None = None) -> float:
        """Write what the client is owed now, if it can be written at once. :data:`WAKE` if
        it must run its own loop instead (it is then woken), :data:`QUIET` to be served when
        lines come, or the time of the tick to be served at next. ``memo``: shared with the
        other clients served in the same call."""
        ...


class Broadcast:
    """The parked clients of one feed: waiting for lines, or for their tick."""

    __slots__ = ("__weakref__", "_due", "_feed", "_loop", "_parked", "_quiet")

    def __init__(self, feed: ConsoleFeed) -> None:
        self._feed = feed
        self._loop: asyncio.AbstractEventLoop | None = None
        self._parked: dict[ParkedClient, asyncio.Future[None]] = {}  # each with its wake-up
        self._quiet: dict[ParkedClient, asyncio.Future[None]] = {}  # served when lines come
        self._due: dict[float, list[tuple[ParkedClient, asyncio.Future[None]]]] = {}

    async def park(self, client: ParkedClient, after: float) -> None:
        """Leave ``client`` to the broadcast until it must run its own loop (see
        :class:`ParkedClient`). ``after``: :data:`QUIET` for a client that is caught up
        (lines, status), or the tick it waits for, having just been written."""
        loop = self._loop
        if loop is None or not loop.is_running():
            # Looked up again only when the loop it had stopped: asyncio.get_running_loop()
            # makes a getpid() system call on Python 3.11.
            loop = self._loop = asyncio.get_running_loop()
        woken: asyncio.Future[None] = loop.create_future()
        self._parked[client] = woken
        self._place(client, woken, after)
        try:
            await woken
        finally:
            self._parked.pop(client, None)
            self._leave_quiet(client)

    def _place(self, client: ParkedClient, woken: asyncio.Future[None], after: float) -> None:
        if after == QUIET:
            if client not in self._quiet:
                if not self._quiet:
                    assert self._loop is not None
                    self._feed.listen(self._serve_quiet, self._loop)
                self._quiet[client] = woken
            return
        self._leave_quiet(client)
        if after == WAKE:
            del self._parked[client]
            if not woken.done():
                woken.set_result(None)
            return
        self._serve_at(after, (client, woken))

    def _leave_quiet(self, client: ParkedClient) -> None:
        if self._quiet.pop(client, None) is not None and not self._quiet:
            self._feed.unlisten(self._serve_quiet)

    def _serve_quiet(self) -> None:
        """The feed's call, once a loop turn in which lines (or a status, or the end) came."""
        memo = TickMemo() if len(self._quiet) > 1 else None  # one client: nobody to share with
        for client, woken in list(self._quiet.items()):
            try:
                after = client.deliver(memo)
            except Exception:  # its own loop meets the same fault, and handles it
                after = WAKE
            if after != QUIET:  # stays quiet: the usual case, nothing to move
                self._place(client, woken, after)

    def _serve_tick(self, when: float) -> None:
        parked = self._parked
        memo = TickMemo()
        # The usual case: every client due now is due again at the same next tick.
        next_tick: float = -1.0
        due_then: list[tuple[ParkedClient, asyncio.Future[None]]] = []
        for entry in self._due.pop(when, ()):
            client, woken = entry
            if parked.get(client) is not woken:  # gone meanwhile
                continue
            try:
                after = client.deliver(memo)
            except Exception:  # its own loop meets the same fault, and handles it
                after = WAKE
            if after > QUIET:  # written, and due at its next tick (it was in no other list)
                if after != next_tick:
                    next_tick, due_then = after, self._due_at(after)
                due_then.append(entry)
            else:
                self._place(client, woken, after)

    def _serve_at(self, when: float, entry: tuple[ParkedClient, asyncio.Future[None]]) -> None:
        """Serve the client at the tick ``when``; the tick's one callback serves all due then."""
        self._due_at(when).append(entry)

    def _due_at(self, when: float) -> list[tuple[ParkedClient, asyncio.Future[None]]]:
        clients = self._due.get(when)
        if clients is None:
            clients = self._due[when] = []
            self._feed.clock.call_at(when, functools.partial(self._serve_tick, when))
        return clients


_BROADCASTS: weakref.WeakKeyDictionary[ConsoleFeed, Broadcast] = weakref.WeakKeyDictionary()


def broadcast_of(feed: ConsoleFeed) -> Broadcast:
    """The broadcast of the clients of one feed."""
    broadcast = _BROADCASTS.get(feed)
    if broadcast is None:
        broadcast = _BROADCASTS[feed] = Broadcast(feed)
    return broadcast
