"""Soak: leave vsmanager streaming a busy console to a crowd for a while; does anything drift?

1,000 lines/s from bench/linegen.py; 50 JSON clients, 40 reading throughout and 10 that drop
their connection and resume (``after`` + ``console_id``) every 20 s, staggered; and every
minute a new client that connects and never reads. Prints vsmanager's RSS and open fds at
the start, the middle and the end, every resuming client's lost and duplicated lines, and
what became of each stalled client (closed 4008, its server-side socket released).

    python bench/soak.py                 # 10 minutes
    python bench/soak.py --minutes 2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import ADMIN_KEY, Target, run_target

RATE = 1000
STEADY_CLIENTS = 40
RESUMING_CLIENTS = 10
RESUME_EVERY_S = 20.0
AWAY_S = 1.0  # how long a resuming client stays away
STALL_EVERY_S = 60.0
HEADERS = {"X-API-Key": ADMIN_KEY}
FRAME_TIMEOUT_S = 30.0


@dataclass
class Tally:
    """Every seq a client was sent, checked as it comes: nothing missing, nothing twice."""

    name: str
    last: int = 0
    lines: int = 0
    lost: int = 0
    duplicated: int = 0
    gaps: int = 0
    resumes: int = 0
    dropped: list[int] = field(default_factory=list)  # close codes of connections it lost
    console_id: str | None = None

    def take(self, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind == "status":
            self.console_id = frame.get("console_id")
        elif kind == "gap":
            self.gaps += 1
            self.lost += frame["count"]
            self.last = frame["to_seq"]
        elif kind == "lines":
            for line in frame["lines"]:
                seq = line["seq"]
                if self.last and seq <= self.last:
                    self.duplicated += 1
                    continue
                if self.last and seq > self.last + 1:
                    self.lost += seq - self.last - 1
                self.last = seq
                self.lines += 1


@dataclass
class Staller:
    started: float
    port: int
    judged_after_s: float | None = None
    released_after_s: float | None = None
    close_code: int | None = None


@dataclass
class Soak:
    target: Target
    until: float
    tallies: list[Tally] = field(default_factory=list)
    stallers: list[Staller] = field(default_factory=list)

    def url(self, **query: object) -> str:
        text = "&".join(f"{k}={v}" for k, v in {"format": "json", **query}.items())
        return f"ws://127.0.0.1:{self.target.port}/api/v1alpha1/console/ws?{text}"

    async def steady(self, tally: Tally) -> None:
        loop = asyncio.get_running_loop()
        while loop.time() < self.until:  # more than once only if vsmanager drops it
            await self._session(tally, self.until)

    async def resuming(self, tally: Tally, offset: float) -> None:
        loop = asyncio.get_running_loop()
        next_drop = loop.time() + offset
        while loop.time() < self.until:
            await self._session(tally, min(next_drop, self.until))
            if loop.time() >= next_drop:
                next_drop += RESUME_EVERY_S
                await asyncio.sleep(AWAY_S)

    async def _session(self, tally: Tally, until: float) -> None:
        """One connection, resuming where the tally left off, read until ``until`` or until
        vsmanager closes it (noted: a steady client should never be dropped)."""
        query: dict[str, object] = {"history_lines": 0}
        if tally.last:
            query.update(after=tally.last, console_id=tally.console_id)
            tally.resumes += 1
        # No client keepalive: a ping would measure how far behind the client's own loop is.
        async with connect(self.url(**query), additional_headers=HEADERS, max_size=None,
                           open_timeout=30, ping_interval=None) as ws:
            try:
                await self._read(ws, tally, until)
            except ConnectionClosed:
                tally.dropped.append(ws.close_code or 1006)

    async def _read(self, ws: ClientConnection, tally: Tally, until: float) -> None:
        loop = asyncio.get_running_loop()
        while (left := until - loop.time()) > 0:
            try:
                message = await asyncio.wait_for(ws.recv(), min(left, FRAME_TIMEOUT_S))
            except TimeoutError:
                continue
            tally.take(json.loads(message))

    async def stall_every_minute(self) -> None:
        loop = asyncio.get_running_loop()
        tasks = []
        while loop.time() + 5 < self.until:
            tasks.append(asyncio.create_task(self._stall()))
            await asyncio.sleep(min(STALL_EVERY_S, self.until - loop.time()))
        await asyncio.gather(*tasks)

    async def _stall(self) -> None:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", self.target.port))
        sock.setblocking(False)
        staller = Staller(loop.time(), sock.getsockname()[1])
        self.stallers.append(staller)
        log_before = self.target.log_path.read_text(errors="replace").count("too_slow")
        ws = await connect(self.url(history_lines=0), sock=sock, additional_headers=HEADERS,
                           max_size=None, max_queue=1, open_timeout=30, ping_interval=None)
        try:
            while loop.time() < self.until + 30:
                log = self.target.log_path.read_text(errors="replace")
                if staller.judged_after_s is None and log.count("too_slow") > log_before:
                    staller.judged_after_s = loop.time() - staller.started
                if server_side_queue(self.target.port, staller.port) in (None, 0):
                    if staller.judged_after_s is not None:
                        staller.released_after_s = loop.time() - staller.started
                        break
                await asyncio.sleep(0.5)
        finally:
            # Now read: what is left for a client that wakes up after all this?
            with contextlib.suppress(ConnectionClosed, TimeoutError, OSError):
                async with asyncio.timeout(10):
                    while True:
                        await ws.recv()
            staller.close_code = ws.close_code
            ws.transport.abort()


def server_side_queue(server_port: int, client_port: int) -> int | None:
    """Bytes queued by the server's end of a loopback connection (/proc/net/tcp), or None
    once the kernel holds no such socket."""
    wanted = (f"{server_port:04X}", f"{client_port:04X}")
    for row in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = row.split()
        if (fields[1].split(":")[1], fields[2].split(":")[1]) == wanted:
            return int(fields[4].split(":")[0], 16)
    return None


def sample(process: psutil.Process, label: str) -> dict[str, Any]:
    return {"at": label, "rss_mib": round(process.memory_info().rss / 2**20, 1),
            "fds": process.num_fds(), "connections": len(process.net_connections("tcp")),
            "load": os.getloadavg()[0]}


async def soak(minutes: float) -> dict[str, Any]:
    seconds = minutes * 60
    with tempfile.TemporaryDirectory(prefix="vsmanager-soak-") as workdir, run_target(
        "vsmanager", Path(workdir), rate=RATE, max_seconds=seconds + 120,
    ) as target:
        process = psutil.Process(target.process.pid)
        loop = asyncio.get_running_loop()
        start = loop.time()
        run = Soak(target, start + seconds)
        run.tallies = [Tally(f"steady-{n}") for n in range(STEADY_CLIENTS)]
        resumers = [Tally(f"resuming-{n}") for n in range(RESUMING_CLIENTS)]
        tasks = [asyncio.create_task(run.steady(t)) for t in run.tallies]
        tasks += [asyncio.create_task(run.resuming(t, RESUME_EVERY_S * (n + 1) / RESUMING_CLIENTS))
                  for n, t in enumerate(resumers)]
        await asyncio.sleep(3)
        samples = [sample(process, "start")]
        stalls = asyncio.create_task(run.stall_every_minute())
        await asyncio.sleep(max(0.0, start + seconds / 2 - loop.time()))
        samples.append(sample(process, "middle"))
        await asyncio.gather(*tasks)
        samples.append(sample(process, "end"))
        await stalls
        await asyncio.sleep(2)
        samples.append(sample(process, "after the stalled clients"))
    return {"minutes": minutes, "samples": samples, "resuming": resumers,
            "steady": run.tallies, "stallers": run.stallers}


def report(result: dict[str, Any]) -> str:
    out = [f"Soak of {result['minutes']:g} min: {RATE} lines/s, {STEADY_CLIENTS} steady JSON "
           f"clients, {RESUMING_CLIENTS} resuming every {RESUME_EVERY_S:g} s, a stalled client "
           f"every {STALL_EVERY_S:g} s.", "",
           "| when | RSS (MiB) | fds | TCP connections | machine's load average |",
           "|---|--:|--:|--:|--:|"]
    out += [f"| {s['at']} | {s['rss_mib']} | {s['fds']} | {s['connections']} | {s['load']:.1f} |"
            for s in result["samples"]]
    out += ["", "| resuming client | lines | resumes | lost | duplicated | gaps | "
            "dropped by vsmanager |",
            "|---|--:|--:|--:|--:|--:|---|"]
    out += [f"| {t.name} | {t.lines:,} | {t.resumes} | {t.lost} | {t.duplicated} | {t.gaps} | "
            f"{', '.join(map(str, t.dropped)) or 'never'} |" for t in result["resuming"]]
    steady = result["steady"]
    drops = [code for t in steady for code in t.dropped]
    out += ["", f"Steady clients: {sum(t.lines for t in steady):,} lines in all, "
            f"{sum(t.lost for t in steady)} lost, {sum(t.duplicated for t in steady)} duplicated, "
            f"fewest {min(t.lines for t in steady):,} per client; dropped by vsmanager "
            f"{len(drops)} times ({', '.join(map(str, sorted(set(drops)))) or '-'}), "
            "each time resumed.", "",
            "| stalled client | judged too slow after | server's socket released after | "
            "close code read on waking |", "|---|--:|--:|---|"]
    for n, s in enumerate(result["stallers"]):
        judged = f"{s.judged_after_s:.1f} s" if s.judged_after_s is not None else "never"
        released = f"{s.released_after_s:.1f} s" if s.released_after_s is not None else "never"
        code = s.close_code if s.close_code is not None else "reset (1006)"
        out.append(f"| {n + 1} | {judged} | {released} | {code} |")
    return "\n".join(out)


def _runner() -> asyncio.Runner:
    # The clients' own CPU is the soak's limit on a small machine: uvloop halves it.
    try:
        import uvloop
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="default 10")
    args = parser.parse_args(argv)
    with _runner() as runner:
        result = runner.run(soak(args.minutes))
    print(report(result))
    bad = sum(t.lost + t.duplicated for t in result["resuming"] + result["steady"])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
