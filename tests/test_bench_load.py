"""bench/load.py takes a line's latency when its message arrives at the client, not when the
reader's task gets to it: one arrival per message, whole or in fragments, none for control
frames, never after the message was handed over."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from websockets.asyncio.server import ServerConnection, serve

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import load  # bench/ is not a package: found through the path above


async def _three_messages(ws: ServerConnection) -> None:
    await ws.send("one")
    await ws.ping()
    await ws.send(["two, ", "in ", "fragments"])
    await ws.send("three")
    await ws.wait_closed()


async def test_each_message_has_one_arrival_stamped_before_its_reader_gets_it() -> None:
    async with serve(_three_messages, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        args = argparse.Namespace(url=f"ws://127.0.0.1:{port}/", key="k", offer_compression="false")
        got: list[tuple[int, int, str]] = []
        async with asyncio.timeout(10):
            async with load._connect(args) as ws:
                assert isinstance(ws, load.StampedConnection)
                while len(got) < 3:
                    message = await ws.recv()
                    got.append((ws.arrivals.popleft(), time.monotonic_ns(), message))
                assert not ws.arrivals  # the ping made none
    assert [m for _, _, m in got] == ["one", "two, in fragments", "three"]
    arrivals = [arrived for arrived, _, _ in got]
    assert arrivals == sorted(arrivals)
    assert all(0 < arrived <= handed for arrived, handed, _ in got)
