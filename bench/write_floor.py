"""The floor: what the least a Python server can do costs, for a crowd of paced clients.

Issue #20 asks for 100 JSON clients at 1,000 lines/s with a line latency p99 of at most
10 ms at no more than 12 % of a core. A line waits for its client's next write, so the p99
is about the interval between two writes to a client: 10 ms needs some 11,000-12,500 writes
a second for 100 clients. This measures what those writes cost a server that does nothing
else: the same uvloop, the game's lines read from the pipe as they come and split, and at
each tick (the clients in groups, as vsmanager's pacing has them) the bytes of the lines since
that group's last tick written as they are to each client's socket. No WebSocket framing, no
seq, timestamp, buffer, counters or facts: every figure vsmanager reaches is above these.

Three processes: the game (bench/linegen.py, its lines stamped with their send time), the
server (``--serve``, measured: its CPU over the window, from /proc as console_bench.py
measures it), and the readers (``--read``: one process, all clients, uvloop; each chunk is
stamped as it arrives and parsed after the window). Latency: from just before the game's
write to the reader's stamp of the chunk that completes the line.

    python bench/write_floor.py                       # 100 clients, 5,000/8,000/12,000 writes/s
    python bench/write_floor.py --writes 12000 --runs 5 --groups 2
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import uvloop
from load import cpu_seconds, percentile
from servers import linegen_argv

WARMUP_S = 1.0
DRAIN_S = 0.5
READY_TIMEOUT_S = 60.0


def serve(listen_fd: int, clients: int, writes: float, groups: int, rate: float, progress: Path,
          seconds: float) -> None:
    """The measured process: accept the clients, read the game, write each group at its tick."""

    read_end, write_end = os.pipe()
    game = subprocess.Popen(linegen_argv(rate, progress, seconds + 30), stdout=write_end,
                            stdin=subprocess.DEVNULL)
    os.close(write_end)
    os.set_blocking(read_end, False)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        listener = socket.socket(fileno=listen_fd)
        listener.setblocking(False)
        transports: list[asyncio.Transport] = []
        done = asyncio.Event()  # a reader left: the run is over, and nobody is written to

        class Client(asyncio.Protocol):
            def connection_lost(self, exc: Exception | None) -> None:
                done.set()

        for _ in range(clients):
            conn, _ = await loop.sock_accept(listener)
            transport, _ = await loop.connect_accepted_socket(Client, conn)
            transports.append(transport)  # type: ignore[arg-type]
        size = -(-clients // groups)
        members = [transports[g * size:(g + 1) * size] for g in range(groups)]
        owed = [bytearray() for _ in range(groups)]  # whole lines since each group's tick
        partial = bytearray()
        announced = False

        def read() -> None:
            try:
                chunk = os.read(read_end, 65536)
            except BlockingIOError:
                return
            if not chunk:
                loop.remove_reader(read_end)
                return
            nonlocal announced
            if not announced:  # every client is in and the game prints: the window may begin
                print("ready", flush=True)
                announced = True
            partial.extend(chunk)
            end = partial.rfind(b"\n") + 1
            if end:
                whole = bytes(partial[:end])
                del partial[:end]
                for lines in owed:
                    lines += whole

        loop.add_reader(read_end, read)
        interval = clients / writes if writes else 0.0

        def tick(group: int, when: float) -> None:
            if done.is_set():
                return
            data = bytes(owed[group])
            owed[group].clear()
            if data:
                for transport in members[group]:
                    transport.write(data)
            loop.call_at(when + interval, tick, group, when + interval)

        if writes:
            start = loop.time()
            for group in range(groups):
                when = start + (group + 1) * interval / groups
                loop.call_at(when, tick, group, when)
        await done.wait()  # then SIGTERM

    def end(*_: object) -> None:
        # Waited for: the game writes its progress file as it ends, into a folder the
        # caller removes once this process is gone.
        game.terminate()
        try:
            game.wait(timeout=10)
        except subprocess.TimeoutExpired:
            game.kill()
            game.wait()
        os._exit(0)

    signal.signal(signal.SIGTERM, end)
    uvloop.run(main())


def read(port: int, clients: int, out: Path) -> None:
    """The readers: every chunk stamped as it arrives; lines sent in the window (given on
    stdin once the server is ready) are parsed after it, each one's latency from the stamp of
    the chunk that completed it."""
    window = [0, 0]
    chunks: list[list[tuple[int, bytes]]] = [[] for _ in range(clients)]

    class Reader(asyncio.Protocol):
        def __init__(self, index: int) -> None:
            self.got = chunks[index]

        def data_received(self, data: bytes) -> None:
            self.got.append((time.monotonic_ns(), data))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for index in range(clients):
            await loop.create_connection(lambda i=index: Reader(i), "127.0.0.1", port)
        line = await asyncio.wait_for(asyncio.to_thread(sys.stdin.readline), READY_TIMEOUT_S)
        window[:] = [int(x) for x in line.split()]
        await asyncio.sleep(max(0.0, (window[1] - time.monotonic_ns()) / 1e9) + DRAIN_S)

    gc.disable()  # the readers add as little as they can to what they measure
    uvloop.run(main())
    start_ns, end_ns = window
    latencies: list[float] = []
    lines = lost = 0
    for got in chunks:
        pending = b""
        seqs: list[int] = []
        for stamp, data in got:
            *whole, pending = (pending + data).split(b"\n")
            for line in whole:
                parts = line.split(b" ", 3)
                if len(parts) >= 3 and parts[0] == b"LG":
                    sent = int(parts[2])
                    if start_ns <= sent < end_ns:
                        latencies.append((stamp - sent) / 1e6)
                        seqs.append(int(parts[1]))
        lines += len(seqs)
        # The game numbers its lines: a reader missing one between its first and last of the
        # window lost it (the readers all get the same lines, so a count per reader suffices).
        if seqs:
            lost += (max(seqs) - min(seqs) + 1) - len(set(seqs))
    out.write_text(json.dumps({"lines": lines, "lost": lost, "latencies_ms": _quantiles(latencies)}))


def _quantiles(values: list[float]) -> dict[str, float | None]:
    """Taken as the load tool takes them, so that the floor and vsmanager compare."""
    if not values:
        return {}
    values.sort()
    return {"p50": percentile(values, 0.5), "p99": percentile(values, 0.99), "max": values[-1]}


def run_once(clients: int, writes: float, groups: int, rate: float, seconds: float) -> dict[str, float]:
    # Listening before the server starts (it is handed the socket): the readers can connect at once.
    listener = socket.create_server(("127.0.0.1", 0), backlog=clients + 8)
    port = listener.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp, listener:
        progress, out = Path(tmp) / "progress.json", Path(tmp) / "read.json"
        server = subprocess.Popen([sys.executable, __file__, "--serve", "--fd", str(listener.fileno()),
                                   "--clients", str(clients), "--writes", f"{writes:g}",
                                   "--groups", str(groups), "--rate", f"{rate:g}",
                                   "--progress", str(progress), "--seconds", f"{seconds:g}"],
                                  pass_fds=(listener.fileno(),), stdout=subprocess.PIPE, text=True)
        reader = subprocess.Popen([sys.executable, __file__, "--read", "--port", str(port),
                                   "--clients", str(clients), "--out", str(out)],
                                  stdin=subprocess.PIPE, text=True)
        try:
            # The window begins once every reader is connected and the game prints (a slow
            # machine starts three Pythons in seconds, not milliseconds).
            assert server.stdout is not None and reader.stdin is not None
            if not select.select([server.stdout], [], [], READY_TIMEOUT_S)[0]:
                raise RuntimeError(f"the server was not ready in {READY_TIMEOUT_S:g} s")
            if server.stdout.readline().strip() != "ready":
                raise RuntimeError("the server ended before it was ready")
            start_ns = time.monotonic_ns() + int(WARMUP_S * 1e9)
            end_ns = start_ns + int(seconds * 1e9)
            reader.stdin.write(f"{start_ns} {end_ns}\n")
            reader.stdin.flush()
            time.sleep(max(0.0, (start_ns - time.monotonic_ns()) / 1e9))
            before = cpu_seconds(server.pid)
            time.sleep(seconds)
            used = cpu_seconds(server.pid) - before
            reader.wait(timeout=seconds + 60)
            result = json.loads(out.read_text())
        finally:
            if reader.poll() is None:
                reader.kill()
                reader.wait()
            server.terminate()
            server.wait(timeout=10)
    return {"cpu_pct": 100 * used / seconds, "lines": result["lines"], "lost": result["lost"],
            **result["latencies_ms"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--writes", default="5000,8000,12000",
                        help="writes a second to all clients together, comma-separated; 0: read the lines only")
    parser.add_argument("--groups", type=int, default=4, help="tick groups (vsmanager: 4 for 100 clients)")
    parser.add_argument("--rate", type=float, default=1000.0, help="the game's lines a second")
    parser.add_argument("--seconds", type=float, default=5.0, help="the measured window")
    parser.add_argument("--runs", type=int, default=3, help="runs of each case (the median is shown)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--read", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--fd", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--progress", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.fd, args.clients, float(args.writes), args.groups, args.rate, args.progress,
              args.seconds)
        return 0
    if args.read:
        read(args.port, args.clients, args.out)
        return 0
    print(f"The floor: {args.clients} clients, {args.rate:g} lines/s, {args.groups} tick groups; "
          f"medians of {args.runs} runs of {args.seconds:g} s (load average "
          f"{os.getloadavg()[0]:.2f}).\n")
    print("| writes/s | interval per client | line latency p50 / p99 / max (ms) | lines read, lost "
          "| server CPU % | CPU % of each run |")
    print("|--:|--:|--:|--:|--:|---|")
    for writes in (float(w) for w in args.writes.split(",")):
        results = [run_once(args.clients, writes, args.groups, args.rate, args.seconds)
                   for _ in range(args.runs)]
        cpu = statistics.median(r["cpu_pct"] for r in results)
        interval = f"{1000 * args.clients / writes:.1f} ms" if writes else "(no writes)"
        if writes:
            lat = " / ".join(f"{statistics.median(r[k] for r in results):.2f}" for k in ("p50", "p99", "max"))
        else:
            lat = "—"
        each = ", ".join(f"{r['cpu_pct']:.1f}" for r in results)
        got = f"{sum(r['lines'] for r in results):,}, {sum(r['lost'] for r in results)}" if writes else "—"
        print(f"| {writes:,.0f} | {interval} | {lat} | {got} | {cpu:.1f} | {each} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
