"""A connection's sends must drain: the send deadline of HTTP connections, and resets.

A client that asks for something large and never reads holds a connection, its buffers and
one of its address's connection slots for as long as it likes: asyncio's ``close()`` means
"send what is buffered, then close", and the kernel keeps an orphaned socket's unsent data
for minutes more. :class:`SendDeadline` gives a response ``VS_HTTP_SEND_TIMEOUT`` to make
progress, both while it is being written (the transport's buffer over its high-water mark)
and after the connection was closed with data still queued; then the connection is reset,
which frees every buffer at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import socket
import struct
import termios
from collections.abc import Callable

_LINGER_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST
_POLL_S = 0.1


def unacknowledged_bytes(transport: asyncio.BaseTransport) -> int:
    """Bytes in the kernel's send queue the client has not acknowledged: what closing the
    descriptor would leave behind in an orphan socket."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return 0
    try:
        queued = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
    except OSError:
        return 0
    return int(struct.unpack("i", queued)[0])


def reset(transport: asyncio.Transport) -> None:
    """Drop the connection now, with a TCP reset: the kernel frees its buffers at once."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
    transport.abort()


class SendDeadline:
    """Resets ``transport`` when what is queued for it makes no progress for ``timeout_s``:
    from :meth:`stalled` (the transport paused writing) until :meth:`flowing`, and from
    :meth:`close` until everything queued has been acknowledged. ``on_reset`` is told."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop,
                 timeout_s: float, on_reset: Callable[[], None]) -> None:
        self.transport = transport
        self.loop = loop
        self.timeout_s = timeout_s
        self.on_reset = on_reset
        self._stall_timer: asyncio.TimerHandle | None = None
        self._close_timer: asyncio.TimerHandle | None = None
        self._closing = False
        self._queued = 0
        self._progress_at = 0.0

    def stalled(self) -> None:
        if self._stall_timer is None and not self._closing:
            self._stall_timer = self.loop.call_later(self.timeout_s, self._expired)

    def flowing(self) -> None:
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None

    def close(self) -> None:
        """Close once everything queued is acknowledged; reset when it stops draining."""
        if self._closing:
            return
        self._closing = True
        self.flowing()
        self._queued = self._pending()
        self._progress_at = self.loop.time()
        self._watch_close()

    def connection_lost(self) -> None:
        self.flowing()
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None

    def _pending(self) -> int:
        return self.transport.get_write_buffer_size() + unacknowledged_bytes(self.transport)

    def _watch_close(self) -> None:
        self._close_timer = None
        if self.transport.is_closing() and self.transport.get_write_buffer_size() == 0:
            return  # closed already, nothing of ours left to deliver
        pending = self._pending()
        now = self.loop.time()
        if pending == 0:
            self.transport.close()
            return
        if pending < self._queued:
            self._queued, self._progress_at = pending, now
        if now - self._progress_at >= self.timeout_s:
            self._expired()
            return
        self._close_timer = self.loop.call_later(_POLL_S, self._watch_close)

    def _expired(self) -> None:
        self._stall_timer = None
        self.on_reset()
        reset(self.transport)
