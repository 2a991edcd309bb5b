"""A loopback proxy that records what clients send and can hide some of vsmanager's
endpoints: the real vsmanager then answers 404, as one older than them does."""

from __future__ import annotations

import contextlib
import re
import socket
import threading

from proxy import TcpProxy

_REQUEST_LINE = re.compile(rb"^(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS) (\S+) HTTP/1\.1\r$",
                           re.MULTILINE)


class RecordingProxy(TcpProxy):
    """A TcpProxy that keeps what clients sent; requests for a path in ``hide`` reach
    vsmanager under another name (request lines start a chunk in these tests' traffic)."""

    def __init__(self, target_port: int, *, hide: tuple[str, ...] = ()) -> None:
        super().__init__(target_port)
        self.hide = [path.encode() for path in hide]
        self.sent = bytearray()
        self._record = threading.Lock()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            if sink.getpeername()[1] != self.target_port:
                return super()._pump(source, sink)  # vsmanager's answers pass untouched
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                for path in self.hide:
                    data = re.sub(rb"(?m)^([A-Z]+ )" + re.escape(path) + rb"(?=[ ?])",
                                  rb"\g<1>" + path + b"-hidden", data)
                with self._record:
                    self.sent += data
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.close()
        return None

    def requests(self) -> list[tuple[str, str, str]]:
        """(method, target, headers) of every request seen, in order."""
        with self._record:
            text = bytes(self.sent)
        found = []
        for match in _REQUEST_LINE.finditer(text):
            head_end = text.find(b"\r\n\r\n", match.end())
            headers = text[match.end():head_end if head_end >= 0 else None]
            found.append((match.group(1).decode(), match.group(2).decode(),
                          headers.decode(errors="replace").lower()))
        return found

    def sockets(self) -> list[tuple[str, str]]:
        """(target, headers) of each WebSocket upgrade."""
        return [(target, headers) for method, target, headers in self.requests()
                if method == "GET" and "/console/ws" in target]
