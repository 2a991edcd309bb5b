"""Caught-up clients served together: what each is owed is written as it comes.

A client that has sent everything there is parks here instead of waiting for the feed in
its own task. When lines come, one callback a loop turn writes each parked client's share
(the same prebuilt bytes for every client at the same cursor) straight to its socket, as
``websockets.broadcast`` does: no task is woken, however many clients. A client whose
socket is not taking more, or that is owed anything but lines (a gap, a status, the end, a
paced write), is woken instead and runs its own loop, which waits for its socket alone:
nobody else waits for it. See docs/streaming.md ("Caught-up clients are served together").
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Protocol

from vsmanager.console.feed import ConsoleFeed


class ParkedClient(Protocol):
    def deliver(self) -> bool:
        """Write what the client is owed now, if it can be written at once; False if the
        client must run its own loop instead (it is then woken)."""
        ...


class Broadcast:
    """The parked clients of one feed."""

    __slots__ = ("__weakref__", "_feed", "_parked")

    def __init__(self, feed: ConsoleFeed) -> None:
        self._feed = feed
        self._parked: dict[ParkedClient, asyncio.Future[None]] = {}

    async def park(self, client: ParkedClient) -> None:
        """Leave ``client`` to the broadcast until it is owed more than lines it can be
        written at once (see :class:`ParkedClient`). The client must be caught up (lines,
        status) when it parks: the broadcast only acts on what comes after."""
        loop = asyncio.get_running_loop()
        woken: asyncio.Future[None] = loop.create_future()
        self._parked[client] = woken
        self._feed.listen(self._serve, loop)
        try:
            await woken
        finally:
            self._parked.pop(client, None)
            if not self._parked:
                self._feed.unlisten(self._serve)

    def _serve(self) -> None:
        parked = self._parked
        for client, woken in list(parked.items()):
            try:
                stays = client.deliver()
            except Exception:  # its own loop meets the same fault, and handles it
                stays = False
            if not stays:
                del parked[client]
                if not woken.done():
                    woken.set_result(None)


_BROADCASTS: weakref.WeakKeyDictionary[ConsoleFeed, Broadcast] = weakref.WeakKeyDictionary()


def broadcast_of(feed: ConsoleFeed) -> Broadcast:
    """The broadcast of the clients of one feed."""
    broadcast = _BROADCASTS.get(feed)
    if broadcast is None:
        broadcast = _BROADCASTS[feed] = Broadcast(feed)
    return broadcast
