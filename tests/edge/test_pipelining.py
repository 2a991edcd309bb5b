"""Clients without a key that pipeline requests and never read, or ask for much and never
read: vsmanager's memory stays bounded, they are reset within the send timeout, and an
admin elsewhere is served as before. Real vsmanager, raw sockets; the figures are in
bench/edge_attacks.py and docs/security.md."""

from __future__ import annotations

import contextlib
import socket
import statistics
import threading
import time
from collections.abc import Iterator

import httpx
import psutil
import pytest

from harness import ADMIN_KEY, TIME_SCALE, VsManager, run_vsmanager
from rawhttp import exchange, request, status_of

PIPELINED = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * 2000
BUNDLE = b"GET /docs/assets/swagger-ui-bundle.js HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
MIB = 1024 * 1024


def attacker_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(30 * TIME_SCALE)
    sock.connect(("127.0.0.1", port))
    return sock


class Flood:
    """Pipelined requests, ``rounds`` x 2,000, from a thread that never reads."""

    def __init__(self, port: int, rounds: int = 20) -> None:
        self.sock = attacker_socket(port)
        self.rounds = rounds
        self.thread = threading.Thread(target=self._send, daemon=True)

    def _send(self) -> None:
        with contextlib.suppress(OSError):
            for _ in range(self.rounds):
                self.sock.sendall(PIPELINED)

    def __enter__(self) -> Flood:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(10)


def rss(vsm: VsManager) -> int:
    return int(psutil.Process(vsm.process.pid).memory_info().rss)


def established(vsm: VsManager, local_port: int) -> bool:
    """Whether vsmanager's end of the connection from ``local_port`` is still there, held by
    vsmanager or orphaned in the kernel with unsent data (after a close that did not wait)."""
    for conn in psutil.net_connections(kind="tcp"):
        if (conn.laddr and conn.laddr.port == vsm.port and conn.raddr and conn.raddr.port == local_port
                and conn.status not in (psutil.CONN_TIME_WAIT, psutil.CONN_CLOSE)):
            return True
    return False


def closed_within(vsm: VsManager, ports: list[int], timeout: float) -> float | None:
    """Seconds until vsmanager has let go of every connection from ``ports``, or None if one
    is still there after ``timeout`` (callers check it was there long enough to count)."""
    began = time.monotonic()
    while any(established(vsm, port) for port in ports):
        if time.monotonic() > began + timeout:
            return None
        time.sleep(0.1)
    return time.monotonic() - began


@pytest.fixture(scope="module")
def vsm() -> Iterator[VsManager]:
    # A send timeout longer than any test here: the bound must hold without it.
    with run_vsmanager(autostart=False, http_send_timeout=120) as manager:
        yield manager


def test_pipelined_requests_never_read_do_not_grow_memory(vsm: VsManager) -> None:
    # Before: every request read was queued, and reading never stopped: 68 → 355 MB in 10 s
    # from one connection. Now each connection is answered only while it reads.
    before = peak = rss(vsm)
    with Flood(vsm.port), Flood(vsm.port):
        deadline = time.monotonic() + 5 * TIME_SCALE
        while time.monotonic() < deadline:
            peak = max(peak, rss(vsm))
            time.sleep(0.1)
    assert (peak - before) / MIB < 2 * 16, f"RSS grew {(peak - before) / MIB:.1f} MiB"


def test_a_pipelining_client_that_reads_is_served_in_full(vsm: VsManager) -> None:
    # Held back is not dropped: once the client reads, the rest of its requests are answered.
    wanted = 3000
    with Flood(vsm.port, rounds=2) as flood:
        time.sleep(1.0)  # it has stopped being read by now
        received = b""
        deadline = time.monotonic() + 30 * TIME_SCALE
        while received.count(b"HTTP/1.1 200 ") < wanted and time.monotonic() < deadline:
            chunk = flood.sock.recv(65536)
            if not chunk:
                break
            received += chunk
    assert received.count(b"HTTP/1.1 200 ") >= wanted
    assert b"HTTP/1.1 4" not in received and b"HTTP/1.1 5" not in received


def test_an_admin_elsewhere_is_not_delayed_by_pipelining_floods(vsm: VsManager) -> None:
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(transport=transport, base_url=vsm.api, headers={"X-API-Key": ADMIN_KEY},
                      timeout=10 * TIME_SCALE) as admin:

        def median_latency() -> float:
            times = []
            for _ in range(20):
                began = time.monotonic()
                assert admin.get("/server/status").status_code == 200
                times.append(time.monotonic() - began)
                time.sleep(0.02)
            return statistics.median(times)

        quiet = median_latency()
        with Flood(vsm.port), Flood(vsm.port), Flood(vsm.port), Flood(vsm.port):
            time.sleep(0.5)
            attacked = median_latency()
    # Loose: the figures (about 1 ms extra) belong to the benchmark; before, 3.7 s.
    assert attacked < quiet + 0.25 * TIME_SCALE, f"{quiet * 1000:.0f} ms → {attacked * 1000:.0f} ms"


@pytest.fixture(scope="module")
def short() -> Iterator[VsManager]:
    with run_vsmanager(autostart=False, http_send_timeout=1, http_max_connections_per_client=4,
                       http_header_timeout=30) as manager:
        yield manager


def test_slow_readers_are_reset_within_the_send_timeout(short: VsManager) -> None:
    # Before: 32 such sockets stayed for 300 s and more, and the address got 503 meanwhile.
    readers = [attacker_socket(short.port) for _ in range(4)]
    ports = [sock.getsockname()[1] for sock in readers]
    try:
        for sock in readers:
            sock.sendall(BUNDLE * 8)
        closed_after = closed_within(short, ports, 1 + 10 * TIME_SCALE)
        assert closed_after is not None, "still open"
        assert closed_after > 0.9
        # Their slots are free: the address is served again.
        assert status_of(exchange(short.port, request("GET", "/healthz"))) == 200
    finally:
        for sock in readers:
            sock.close()
    assert "http_send_timeout" in short.log_text()


def test_a_small_answer_never_read_is_reset_after_the_keep_alive(short: VsManager) -> None:
    # The answer fits in the buffers, so nothing stalls: uvicorn's keep-alive closes the
    # connection, and the close itself must not wait for ever on an unread answer.
    sock = attacker_socket(short.port)
    port = sock.getsockname()[1]
    try:
        sock.sendall(request("GET", "/docs/assets/swagger-ui.css").replace(b"Connection: close\r\n", b""))
        closed_after = closed_within(short, [port], 5 + 10 * TIME_SCALE)
        assert closed_after is not None, "still open"
        assert closed_after > 3  # held through uvicorn's keep-alive (5 s) first
    finally:
        sock.close()


def test_a_reader_that_keeps_up_is_not_cut_off(short: VsManager) -> None:
    # The bundle (1.5 MB) over a connection read at once: well past the send timeout's
    # worth of buffers, never stalled long enough to be reset.
    with httpx.Client(base_url=short.url, timeout=10 * TIME_SCALE) as client:
        for _ in range(3):
            response = client.get("/docs/assets/swagger-ui-bundle.js")
            assert response.status_code == 200 and len(response.content) > 1_000_000
