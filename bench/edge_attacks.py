"""What a client without a key can do to vsmanager's memory and to an admin's requests.

A real ``vsmanager serve`` (the line generator as its game, one line a second). An admin on
another loopback address (127.0.0.2) asks for ``/server/status`` every 50 ms throughout; the
attack runs from 127.0.0.1 between a quiet phase and the end, so each row holds the admin's
latency with and without the attack, from the same run:

- ``pipeline``: each connection (receive buffer 4 KiB) sends ``GET /healthz`` pipelined, 2,000
  at a time, over and over, and never reads; one closed by the server is opened again.
- ``slowread``: 32 connections each ask for the 1.5 MB Swagger bundle 8 times and never
  read. How long until vsmanager has closed them all, and is the address served afterwards?

RSS growth is vsmanager's peak RSS during the attack minus its RSS before it.

    python bench/edge_attacks.py                            # every case (~2 min)
    python bench/edge_attacks.py --case pipeline-4 --seconds 15
    python bench/edge_attacks.py --vsmanager-path ../before/src   # another source tree
"""

from __future__ import annotations

import argparse
import contextlib
import select
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import ADMIN_KEY, Target, run_target

MIB = 1024 * 1024
ADMIN_ADDRESS = "127.0.0.2"
ADMIN_INTERVAL_S = 0.05
ADMIN_TIMEOUT_S = 5.0
QUIET_S = 4.0
RECEIVE_BUFFER = 4096
PIPELINED = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * 2000
BUNDLE = b"GET /docs/assets/swagger-ui-bundle.js HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * 8
SLOW_READERS = 32
# Targets (docs/security.md): RSS growth per attacking connection, and the admin's extra delay.
RSS_PER_CONNECTION_MIB = 16
EXTRA_LATENCY_MS = 50


@dataclass
class Latencies:
    samples: list[float] = field(default_factory=list)
    timeouts: int = 0

    def median_ms(self) -> float:
        return statistics.median(self.samples) * 1000 if self.samples else float("nan")

    def p99_ms(self) -> float:
        if not self.samples:
            return float("nan")
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


class Admin:
    """GET /server/status from another address, every ADMIN_INTERVAL_S, in its own thread."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.phase = "quiet"
        self.results = {"quiet": Latencies(), "attack": Latencies()}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Admin:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(ADMIN_TIMEOUT_S + 1)

    def _run(self) -> None:
        transport = httpx.HTTPTransport(local_address=ADMIN_ADDRESS)
        with httpx.Client(transport=transport, base_url=f"http://127.0.0.1:{self.port}/api/v1alpha1",
                          headers={"X-API-Key": ADMIN_KEY}, timeout=ADMIN_TIMEOUT_S) as client:
            while not self._stop.is_set():
                phase = self.phase
                began = time.monotonic()
                try:
                    client.get("/server/status").raise_for_status()
                except httpx.HTTPError:
                    self.results[phase].timeouts += 1
                else:
                    self.results[phase].samples.append(time.monotonic() - began)
                self._stop.wait(max(0.0, ADMIN_INTERVAL_S - (time.monotonic() - began)))


class Attacker:
    """One attacking connection in its own thread: sends ``payload`` (over and over when
    ``repeat``), never reads; reconnects when ``reconnect`` and the server closed it."""

    def __init__(self, port: int, payload: bytes, *, repeat: bool, reconnect: bool) -> None:
        self.port = port
        self.payload = payload
        self.repeat = repeat
        self.reconnect = reconnect
        self.local_ports: set[int] = set()
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        sock.connect(("127.0.0.1", self.port))
        sock.setblocking(False)
        self.local_ports.add(sock.getsockname()[1])
        self.connections += 1
        return sock

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sock = self._connect()
            except OSError:
                self._stop.wait(0.1)
                continue
            with sock:
                self._send(sock)
                if not self.reconnect:
                    self._stop.wait()  # hold the socket, unread, until the end
            if not self.reconnect:
                return

    def _send(self, sock: socket.socket) -> None:
        view, offset = memoryview(self.payload), 0
        while not self._stop.is_set():
            if offset == len(view):
                if not self.repeat:
                    return
                offset = 0
            _, writable, _ = select.select([], [sock], [], 0.2)
            if not writable:
                continue
            try:
                offset += sock.send(view[offset:])
            except BlockingIOError:
                continue
            except OSError:
                return  # closed by the server


@dataclass
class Row:
    case: str
    connections: int
    rss_before: int
    rss_peak: int
    quiet: Latencies
    attack: Latencies
    opened: int
    closed_after_s: float | None = None
    next_status: int | None = None

    @property
    def growth_mib(self) -> float:
        return (self.rss_peak - self.rss_before) / MIB

    @property
    def extra_ms(self) -> float:
        return self.attack.median_ms() - self.quiet.median_ms()

    def meets_target(self) -> bool:
        attackers = max(1, self.connections)
        return (self.growth_mib < RSS_PER_CONNECTION_MIB * attackers
                and self.attack.timeouts == 0 and self.extra_ms <= EXTRA_LATENCY_MS)


def server_connections(pid: int, port: int, peers: set[int]) -> int:
    """vsmanager's established sockets to the attacker's ports."""
    count = 0
    with contextlib.suppress(psutil.Error):
        for conn in psutil.Process(pid).net_connections(kind="tcp"):
            if (conn.status == psutil.CONN_ESTABLISHED and conn.laddr and conn.laddr.port == port
                    and conn.raddr and conn.raddr.port in peers):
                count += 1
    return count


def run_attack(target: Target, case: str, connections: int, seconds: float) -> Row:
    process = psutil.Process(target.process.pid)
    slow = case == "slowread"
    attackers = [Attacker(target.port, BUNDLE if slow else PIPELINED, repeat=not slow,
                          reconnect=not slow) for _ in range(connections)]
    with Admin(target.port) as admin:
        time.sleep(QUIET_S)
        rss_before = peak = process.memory_info().rss
        admin.phase = "attack"
        began = time.monotonic()
        for attacker in attackers:
            attacker.start()
        closed_after = None
        peers: set[int] = set()
        while time.monotonic() - began < seconds:
            time.sleep(0.25)
            peak = max(peak, process.memory_info().rss)
            if slow and closed_after is None and time.monotonic() - began > 1.0:
                peers = set().union(*(a.local_ports for a in attackers))
                if peers and server_connections(target.process.pid, target.port, peers) == 0:
                    closed_after = time.monotonic() - began
        next_status = _next_connection_status(target.port) if slow else None
        for attacker in attackers:
            attacker.stop()
    return Row(case, connections, rss_before, peak, admin.results["quiet"], admin.results["attack"],
               sum(a.connections for a in attackers), closed_after, next_status)


def _next_connection_status(port: int) -> int:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=ADMIN_TIMEOUT_S).status_code
    except httpx.HTTPError:
        return 0


CASES: dict[str, Callable[[Target, float], Row]] = {
    "pipeline-1": lambda target, s: run_attack(target, "pipeline", 1, s),
    "pipeline-4": lambda target, s: run_attack(target, "pipeline", 4, s),
    "slowread": lambda target, s: run_attack(target, "slowread", SLOW_READERS, max(s, 20.0)),
}


@contextlib.contextmanager
def vsmanager(workdir: Path, pythonpath: str | None) -> Iterator[Target]:
    # The per-address connection cap at its default (run_target lifts it for load tests).
    settings = {"http_max_connections_per_client": "32", "log_level": "warning"}
    with run_target("vsmanager", workdir, rate=1, max_seconds=3600, settings=settings,
                    pythonpath=pythonpath) as target:
        yield target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", choices=list(CASES), help="default: all")
    parser.add_argument("--seconds", type=float, default=10.0, help="attack length (slowread: 20 s at least)")
    parser.add_argument("--vsmanager-path", help="run vsmanager from this source tree (its src/)")
    args = parser.parse_args(argv)
    print("| case | attacking connections (opened) | RSS before (MiB) | growth (MiB) "
          "| admin median / p99 quiet (ms) | under attack (ms) | admin failures "
          "| attackers closed after | next connection | target met |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|---|")
    met = True
    for case in args.case or list(CASES):
        with tempfile.TemporaryDirectory(prefix="vsm-edge-bench-") as tmp, \
                vsmanager(Path(tmp), args.vsmanager_path) as target:
            row = CASES[case](target, args.seconds)
        closed = ""
        if case == "slowread":
            longest = max(args.seconds, 20)
            closed = f"{row.closed_after_s:.1f} s" if row.closed_after_s is not None else f"> {longest:.0f} s"
        nxt = "" if row.next_status is None else str(row.next_status or "no answer")
        ok = row.meets_target() and (case != "slowread" or row.next_status == 200)
        met = met and ok
        print(f"| {case} | {row.connections} ({row.opened}) | {row.rss_before / MIB:.0f} | "
              f"{row.growth_mib:.1f} | {row.quiet.median_ms():.1f} / {row.quiet.p99_ms():.1f} | "
              f"{row.attack.median_ms():.1f} / {row.attack.p99_ms():.1f} | {row.attack.timeouts} | "
              f"{closed} | {nxt} | {'yes' if ok else 'no'} |", flush=True)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
