"""BoundedCloseTransport's fast write (write_open), on a real connection: it writes while the
connection is open, and nothing once it is closing, as write() does."""

from __future__ import annotations

import asyncio
import socket

from vsmanager.edge.ws_protocol import BoundedCloseTransport


async def _pair() -> tuple[BoundedCloseTransport, socket.socket]:
    ours, theirs = socket.socketpair()
    theirs.settimeout(5)
    transport, _ = await asyncio.get_running_loop().create_unix_connection(asyncio.Protocol, sock=ours)
    return BoundedCloseTransport(transport, asyncio.get_running_loop(), linger=1.0), theirs  # type: ignore[arg-type]


async def test_write_open_writes_while_open() -> None:
    bounded, peer = await _pair()
    try:
        bounded.write_open(b"frame-1")
        bounded.write(b"|frame-2")
        await asyncio.sleep(0)
        assert await asyncio.to_thread(peer.recv, 100) == b"frame-1|frame-2"
    finally:
        bounded.abort()
        peer.close()


async def test_write_open_writes_nothing_once_closing() -> None:
    for end in (BoundedCloseTransport.close, BoundedCloseTransport.abort):
        bounded, peer = await _pair()
        try:
            bounded.write_open(b"before")
            await asyncio.sleep(0)
            assert await asyncio.to_thread(peer.recv, 100) == b"before"
            end(bounded)
            bounded.write_open(b"after")  # dropped, not raised: the broadcast may still hold it
            bounded.write(b"after")
            await asyncio.sleep(0.05)
            peer.settimeout(2)
            rest = await asyncio.to_thread(_read_to_end, peer)
            assert b"after" not in rest
        finally:
            peer.close()


def _read_to_end(peer: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := peer.recv(100):
            data += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return data
