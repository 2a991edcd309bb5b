"""The load: real WebSocket clients in their own process, and what they measure.

``stream`` mode: connect readers (and optionally one staller), let a warm-up pass, then
measure a window defined by the line generator's own counter: every line it sent during the
window must reach every reader. Readers only timestamp and keep each frame while measuring;
frames are parsed afterwards, so the load tool spends as little as it can per frame. A
line's latency is taken when the bytes that complete its message arrive (before websockets
parses them and the reader's task runs), and also when the task got it (``p99_in_task_ms``).

``idle`` mode: the server's RSS with N idle connections minus its RSS with none.

Prints one JSON object on stdout. Every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import gc
import json
import re
import resource
import socket
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import DATA_OPCODES, Frame

LINE = re.compile(r"LG (\d+) (\d+) ")
STALLER_RCVBUF = 4096
STALLER_MAX_QUEUE = 1
TOO_SLOW_EVENT = "console_client_too_slow"
POLL_S = 0.05
UNDELIVERED = float("inf")
STUCK_NS = 100_000_000  # the bound on one stdout write of the game


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="benchmark load: WebSocket console clients")
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--mode", choices=["stream", "idle"], default="stream")
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--staller", action="store_true", help="one more client that stops reading")
    parser.add_argument("--offer-compression", choices=["true", "false"], default="true")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--window", type=float, default=5.0)
    parser.add_argument("--drain", type=float, default=2.0, help="max wait for in-flight lines")
    parser.add_argument("--await-close", type=float, default=0.0,
                        help="keep the staller up to this long after connecting, for its 4008")
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--progress", type=Path, help="the line generator's progress file")
    parser.add_argument("--server-log", type=Path, help="vsmanager's log, watched for 4008")
    args = parser.parse_args(argv)
    _raise_fd_limit()
    # Frames are kept until the end: a collection walking them mid-run would pause the
    # readers for milliseconds and show up as latency that the server did not cause.
    gc.disable()
    runner = _runner()
    with runner:
        budget = args.warmup + args.window + args.drain + args.await_close + 60
        result = runner.run(asyncio.wait_for(_run(args), budget))
    print(json.dumps(result))
    return 0


def _runner() -> asyncio.Runner:
    try:
        import uvloop
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 8192 if hard == resource.RLIM_INFINITY else min(hard, 8192)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    if args.mode == "idle":
        return await _idle(args)
    return await _stream(args)


# -- clients ----------------------------------------------------------------------------------


class StampedConnection(ClientConnection):
    """Notes when the bytes that complete each message arrived, before they are parsed.

    One process reads every client: when a tick writes a group of clients at once, each
    message then waits for the messages of the clients before it to pass through websockets
    and their readers' tasks. A client in a process of its own (a browser tab, a terminal)
    does not wait for the others, so a line's latency is taken at its arrival; the time it
    reached the reader's task is kept beside it (``p99_in_task_ms``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.arrivals: collections.deque[int] = collections.deque()
        self._chunk_ns = 0

    def data_received(self, data: bytes) -> None:
        self._chunk_ns = time.monotonic_ns()
        super().data_received(data)

    def process_event(self, event: Any) -> None:
        if isinstance(event, Frame) and event.fin and event.opcode in DATA_OPCODES:
            self.arrivals.append(self._chunk_ns)
        super().process_event(event)


def _connect(args: argparse.Namespace, **kwargs: Any) -> Any:
    return connect(
        args.url,
        create_connection=StampedConnection,
        additional_headers={"X-API-Key": args.key},
        compression="deflate" if args.offer_compression == "true" else None,
        proxy=None,
        ping_interval=None,
        open_timeout=15,
        close_timeout=1,
        max_size=None,
        **kwargs,
    )


class Reader:
    """Keeps every frame with its arrival time and the time its task got it; parsing waits
    until the run is over."""

    def __init__(self) -> None:
        self.frames: list[tuple[int, int, str]] = []
        self.ws: ClientConnection | None = None

    async def run(self, args: argparse.Namespace, connected: asyncio.Event) -> None:
        frames = self.frames
        clock = time.monotonic_ns
        async with _connect(args) as ws:
            self.ws = ws
            arrived = ws.arrivals.popleft
            connected.set()
            with contextlib.suppress(ConnectionClosed):
                async for message in ws:
                    frames.append((arrived(), clock(), message))  # type: ignore[arg-type]

    def last_seq(self) -> int:
        for _, _, frame in reversed(self.frames):
            found = LINE.findall(frame)
            if found:
                return int(found[-1][0])
        return 0


class Staller:
    """Connects with a small receive buffer, then never reads: its socket stops draining."""

    def __init__(self) -> None:
        self.connected_ns = 0
        self.close_code: int | None = None
        self.close_reason = ""
        self.frames_after_resume = 0
        self.ws: ClientConnection | None = None

    async def connect(self, args: argparse.Namespace) -> None:
        url = urlsplit(args.url)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, STALLER_RCVBUF)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (url.hostname, url.port))
        self.ws = await _connect(args, sock=sock, max_queue=STALLER_MAX_QUEUE).__aenter__()
        self.connected_ns = time.monotonic_ns()

    async def resume_and_close(self, timeout: float) -> None:
        """Read whatever is left, to learn how the server ended the connection."""
        ws = self.ws
        if ws is None:
            return
        try:
            async with asyncio.timeout(timeout):
                async for _ in ws:
                    self.frames_after_resume += 1
        except TimeoutError:
            pass
        except ConnectionClosed:
            pass
        if ws.close_code is not None:
            self.close_code, self.close_reason = ws.close_code, ws.close_reason or ""
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                await ws.close()


# -- stream mode ------------------------------------------------------------------------------


async def _stream(args: argparse.Namespace) -> dict[str, Any]:
    server = psutil.Process(args.server_pid)
    readers = [Reader() for _ in range(args.clients)]
    events = [asyncio.Event() for _ in readers]
    tasks = [asyncio.create_task(r.run(args, e)) for r, e in zip(readers, events, strict=True)]
    staller = Staller() if args.staller else None
    log_watch = _LogWatch(args.server_log)
    try:
        async with asyncio.timeout(30):
            await asyncio.gather(*(e.wait() for e in events))
            if staller is not None:
                await staller.connect(args)
        log_watch.start()
        await asyncio.sleep(args.warmup)

        # Scanning every process takes milliseconds: done before the window opens and after
        # the last line has arrived, never while a measured line may be in flight.
        others_before = _Others.scan()
        start = _Sample(server, args.progress)
        await asyncio.sleep(args.window)
        end = _Sample(server, args.progress)
        last = end.seq
        drain_until = time.monotonic() + args.drain
        while time.monotonic() < drain_until and min(r.last_seq() for r in readers) < last:
            await asyncio.sleep(POLL_S)
        drained = _Sample(server, args.progress)
        others = others_before.until_now(
            {psutil.Process().pid, server.pid, int(drained.progress.get("pid", 0))})
        if staller is not None and args.await_close:
            until = staller.connected_ns / 1e9 + args.await_close
            while log_watch.seen_ns is None and time.monotonic() < until:
                await asyncio.sleep(POLL_S * 2)
    finally:
        log_watch.stop()
        await _close_all(readers, tasks)
    result = _measure(readers, start, end, drained)
    result["others_cpu_pct"] = others
    if staller is not None:
        await staller.resume_and_close(3.0)
        seen = log_watch.seen_ns
        result["staller"] = {
            "too_slow_logged_after_s": (
                round((seen - staller.connected_ns) / 1e9, 1) if seen is not None else None
            ),
            "close_code": staller.close_code,
            "close_reason": staller.close_reason,
            "frames_read_after_resume": staller.frames_after_resume,
        }
    return result


async def _close_all(readers: list[Reader], tasks: list[asyncio.Task[None]]) -> None:
    async def close(reader: Reader) -> None:
        if reader.ws is not None:
            with contextlib.suppress(Exception):
                await reader.ws.close()

    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(5):
            await asyncio.gather(*(close(r) for r in readers))
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class _Sample:
    """CPU times and the line generator's progress at one instant."""

    def __init__(self, server: psutil.Process, progress: Path | None) -> None:
        self.ns = time.monotonic_ns()
        self.server_pid = server.pid
        times = server.cpu_times()
        self.server_cpu = times.user + times.system
        own = psutil.Process().cpu_times()
        self.load_cpu = own.user + own.system
        self.progress: dict[str, Any] = {}
        if progress is not None:
            with contextlib.suppress(OSError, ValueError):
                self.progress = json.loads(progress.read_text())
        self.seq = int(self.progress.get("seq", 0))
        self.linegen_cpu = cpu_seconds(self.progress.get("pid"))


class _Others:
    """CPU used by every other process on the machine. /proc/stat's machine-wide figures
    are sampled at each tick and miss most of a workload that wakes 1,000 times a second;
    per-process figures are exact (a process that starts and ends in between is missed)."""

    def __init__(self, cpu: dict[int, tuple[float, float]], wall: float, ns: int) -> None:
        self.cpu, self.wall, self.ns = cpu, wall, ns

    @classmethod
    def scan(cls) -> _Others:
        cpu = {}
        for proc in psutil.process_iter(["cpu_times", "create_time"]):
            times, created = proc.info["cpu_times"], proc.info["create_time"]
            if times is not None and created is not None:
                cpu[proc.pid] = (times.user + times.system, created)
        return cls(cpu, time.time(), time.monotonic_ns())

    def until_now(self, mine: set[int]) -> float:
        """% of one core used since the scan by all processes but ``mine``."""
        now = _Others.scan()
        total = 0.0
        for pid, (cpu, created) in now.cpu.items():
            if pid in mine:
                continue
            before = self.cpu.get(pid)
            if before is not None and before[1] == created:
                total += cpu - before[0]
            elif created >= self.wall:
                total += cpu
        return round(100 * total / ((now.ns - self.ns) / 1e9), 1)


def cpu_seconds(pid: object) -> float:
    """User and system CPU seconds of a process so far; 0 if it is not there."""
    if not isinstance(pid, int):
        return 0.0
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system


def _measure(readers: list[Reader], start: _Sample, end: _Sample, drained: _Sample) -> dict[str, Any]:
    first, last = start.seq + 1, end.seq
    expected = max(0, last - first + 1)
    latencies: list[float] = []
    in_task: list[float] = []
    gaps = undelivered = duplicates = frames = 0
    for reader in readers:
        seen: set[int] = set()
        highest = 0
        for received, handed, frame in reader.frames:
            in_window = False
            for seq_text, sent_text in LINE.findall(frame):
                seq = int(seq_text)
                if seq < first or seq > last:
                    continue
                in_window = True
                if seq in seen:
                    duplicates += 1
                    continue
                seen.add(seq)
                highest = max(highest, seq)
                latencies.append((received - int(sent_text)) / 1e6)
                in_task.append((handed - int(sent_text)) / 1e6)
            frames += in_window
        missing = expected - len(seen)
        tail = last - max(highest, first - 1)  # never arrived, nothing after them either
        undelivered += tail
        gaps += missing - tail
        latencies.extend([UNDELIVERED] * missing)
        in_task.extend([UNDELIVERED] * missing)
    latencies.sort()
    in_task.sort()
    seconds = (end.ns - start.ns) / 1e9
    blocks = _write_blocks(drained.progress, start.ns, drained.ns)
    return {
        "window_s": round(seconds, 2),
        "lines_expected": expected,
        "rate": round(expected / seconds, 1) if seconds else 0.0,
        "readers": len(readers),
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": latencies[-1] if latencies else None,
        "p99_in_task_ms": percentile(in_task, 0.99),
        "lost": gaps,
        "undelivered": undelivered,
        "duplicates": duplicates,
        "frames_per_reader_s": round(frames / max(1, len(readers)) / seconds, 1) if seconds else 0,
        "server_cpu_pct": round(100 * (end.server_cpu - start.server_cpu) / seconds, 1),
        "load_cpu_pct": round(100 * (end.load_cpu - start.load_cpu) / seconds, 1),
        "linegen_cpu_pct": round(100 * (end.linegen_cpu - start.linegen_cpu) / seconds, 1),
        **blocks,
    }


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile of ``values``, sorted; None if there are none."""
    if not values:
        return None
    return values[min(len(values) - 1, int(q * len(values)))]


def _write_blocks(progress: dict[str, Any], start_ns: int, end_ns: int) -> dict[str, Any]:
    """The longest stdout write+flush of the line generator that started in the window
    (writes under 2 ms are not listed one by one: "< 2")."""
    blocks = [dur for began, dur in progress.get("slow_writes", []) if start_ns <= began <= end_ns]
    since = progress.get("writing_since_ns")
    ongoing = int(progress["now_ns"]) - int(since) if since else 0
    if since:  # a write in progress when last sampled counts for as long as it has lasted
        blocks.append(ongoing)
    return {
        "write_block_max_ms": round(max(blocks) / 1e6, 1) if blocks else 0.0,
        "write_blocks_over_100ms": sum(1 for b in blocks if b > STUCK_NS),
        # Stuck: still in progress at the last sample and already over the bound. A write
        # caught mid-way a few milliseconds in (the machine is busy) is not a blocked game.
        "write_stuck": ongoing > STUCK_NS,
    }


class _LogWatch:
    """Notes when vsmanager first logs that it is closing a client as too slow."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.seen_ns: int | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.path is not None:
            self._task = asyncio.create_task(self._watch(self.path))

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _watch(self, path: Path) -> None:
        offset = _read_from(path, 0)[1]
        while self.seen_ns is None:
            await asyncio.sleep(POLL_S * 2)
            chunk, offset = _read_from(path, offset)
            if TOO_SLOW_EVENT.encode() in chunk:
                self.seen_ns = time.monotonic_ns()


def _read_from(path: Path, offset: int) -> tuple[bytes, int]:
    # A local file of a few kilobytes: reading it inline costs less than a thread would.
    try:
        with path.open("rb") as log:
            log.seek(offset)
            chunk = log.read()
    except OSError:
        return b"", offset
    return chunk, offset + len(chunk)


# -- idle mode ----------------------------------------------------------------------------------


async def _idle(args: argparse.Namespace) -> dict[str, Any]:
    server = psutil.Process(args.server_pid)
    async with contextlib.AsyncExitStack() as stack:
        # Warm up whatever a first connection loads, then settle.
        warm = [await stack.enter_async_context(_connect(args)) for _ in range(10)]
        for ws in warm:
            await ws.close()
        await asyncio.sleep(1.0)
        rss_before = server.memory_info().rss
        gate = asyncio.Semaphore(50)

        async def one() -> ClientConnection:
            async with gate:
                return await stack.enter_async_context(_connect(args))

        began = time.monotonic()
        async with asyncio.timeout(60):
            clients = await asyncio.gather(*(one() for _ in range(args.clients)))
        connect_s = time.monotonic() - began
        await asyncio.sleep(2.0)
        rss_after = server.memory_info().rss
        open_count = sum(1 for ws in clients if ws.close_code is None)
        for ws in clients:  # no closing handshakes: the server is stopped next anyway
            ws.transport.abort()
    return {
        "clients": args.clients,
        "open": open_count,
        "connect_s": round(connect_s, 2),
        "rss_before_mib": round(rss_before / 2**20, 1),
        "rss_after_mib": round(rss_after / 2**20, 1),
        "per_client_kib": round((rss_after - rss_before) / args.clients / 1024, 1),
    }


if __name__ == "__main__":
    sys.exit(main())
