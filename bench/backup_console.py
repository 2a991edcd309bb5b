"""The console while a big world is backed up, beside the same run without a backup.

The game is bench/linegen.py printing 1,000 lines/s; its world is one file of
incompressible-ish data (``--size-mb``, 1 GiB by default) in a temporary folder on disk.
On ``/backup NAME`` the game hard-links the world as its copy (free for the game), so what
is measured is vsmanager's own work: archiving, hashing, compressing and verifying it.

One WebSocket client, in a process of its own (what starts the backup and polls it must not
delay its reading), measures each line's latency (the game stamps it with CLOCK_MONOTONIC)
and every 200 ms sends a command and times its echo (the round trip through vsmanager's
event loop). Each run measures the backup from start to verified, then the same length of
time without a backup, then (the control) the same length of time with one busy loop per CPU
in the idle CPU policy and no backup: what any idle-priority work costs the console on this
machine, whatever it does. Prints a table; with ``--runs 3`` the medians.

    .venv/bin/python bench/backup_console.py [--size-mb 1024] [--runs 1] [--dir /var/tmp]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import ADMIN_KEY, run_target

LINE = re.compile(r"LG (\d+) (\d+) ")
PING = re.compile(r"/ping (\d+)")
PING_EVERY_S = 0.2
RANDOM_SHARE = 0.75  # of each MiB: the rest zeros, so zstd gains a little (like a real save)
MIB = 1 << 20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="the world's size in MiB")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--rate", type=float, default=1000.0, help="console lines per second")
    parser.add_argument("--dir", type=Path, default=None, help="where the world goes (on disk)")
    parser.add_argument("--control", choices=("cpu", "memory"), default="cpu",
                        help="the control phase's idle-policy loops: spinning, or writing files")
    parser.add_argument("--listen", metavar="URL", help=argparse.SUPPRESS)  # the measuring process
    args = parser.parse_args(argv)
    if args.listen:
        asyncio.run(_listen(args.listen))
        return 0
    parent = args.dir or Path("/var/tmp" if Path("/var/tmp").is_dir() else tempfile.gettempdir())
    need = args.size_mb * MIB * 2.6 + 256 * MIB  # the world, its archive, the verify's scratch
    free = shutil.disk_usage(parent).free
    if free < need:
        print(f"{parent}: {free / MIB:.0f} MiB free, {need / MIB:.0f} MiB needed (--size-mb, --dir)")
        return 2
    kind = _fs_type(parent)
    with tempfile.TemporaryDirectory(prefix="vsm-backup-bench-", dir=parent) as tmp:
        work = Path(tmp)
        world = _make_world(work / "data", args.size_mb)
        print(f"world: {args.size_mb} MiB in {parent} ({kind}); {os.cpu_count()} CPUs", file=sys.stderr)
        runs = [_one_run(work, world, args.rate, n, args.control) for n in range(args.runs)]
    print(_table(runs, args, kind))
    return 0


def _make_world(data: Path, size_mb: int) -> Path:
    world = data / "world" / "world.bin"
    world.parent.mkdir(parents=True)
    random_part = int(MIB * RANDOM_SHARE)
    with open(world, "wb") as out:
        for _ in range(size_mb):
            out.write(os.urandom(random_part) + bytes(MIB - random_part))
        out.flush()
        os.fsync(out.fileno())
    return world


def _one_run(work: Path, world: Path, rate: float, n: int, control: str) -> dict[str, Any]:
    data = world.parent.parent
    settings = {
        "game_profile": "none", "server_workdir": str(data), "backup_dir": str(work / "backups"),
        "backup_command": "/backup {name}", "backup_done_pattern": "^Backup done",
        "backup_copy": "snapshots/{name}", "backup_copy_of": "world/world.bin", "backup_timeout": "60",
    }
    # vsmanager's log and linegen's progress file in memory when it can: under systemd the
    # log goes down a pipe to journald, and neither is what is measured here.
    memory = Path("/dev/shm")
    logs = Path(tempfile.mkdtemp(prefix="vsm-backup-bench-", dir=memory if memory.is_dir() else work))
    with run_target("vsmanager", logs, rate=rate, max_seconds=3600, settings=settings,
                    game_args=("--snapshot", str(world))) as target:
        base = f"http://127.0.0.1:{target.port}/api/v1alpha1"
        url = f"ws://127.0.0.1:{target.port}/api/v1alpha1/console/ws?format=json&history_lines=0"
        during = asyncio.run(_measure(url, base, backup=True, seconds=0.0))
        without = asyncio.run(_measure(url, base, backup=False, seconds=during["seconds"]))
        control = asyncio.run(_measure(url, base, backup=False, seconds=during["seconds"],
                                       hogs=os.cpu_count() or 1, control=control))
    shutil.rmtree(work / "backups", ignore_errors=True)
    shutil.rmtree(logs, ignore_errors=True)
    print(f"run {n + 1}: backup {during['backup_s']:.1f} s; line p99 {without['lines']['p99']:.1f} ms "
          f"without, {during['lines']['p99']:.1f} ms during; command p99 {without['commands']['p99']:.1f} / "
          f"{during['commands']['p99']:.1f} ms; idle-priority busy loops: line p99 "
          f"{control['lines']['p99']:.1f} ms; load {without['load']:.1f} / {during['load']:.1f}",
          file=sys.stderr)
    return {"during": during, "without": without, "idle hogs": control}


async def _measure(url: str, base: str, *, backup: bool, seconds: float,
                   hogs: int = 0, control: str = "cpu") -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    # The client that measures is a process of its own: what drives the backup (an HTTP
    # client whose creation alone kept this process busy for 41 ms, the polls) must not
    # delay the reading of a line and so count as the console's latency.
    listener = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--listen", url,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert listener.stdin is not None and listener.stdout is not None
    ready = await asyncio.wait_for(listener.stdout.readline(), 30)
    if ready != b"ready\n":
        raise RuntimeError(f"the listener did not start: {ready!r}")
    start_ns = time.monotonic_ns()
    outcome: dict[str, Any] = {}
    if backup:
        outcome = await _backup(base)
    else:
        with _idle_busy_loops(hogs, control):
            await asyncio.sleep(seconds)
    end_ns = time.monotonic_ns()
    listener.stdin.close()  # it keeps reading for the lines and echoes in flight, then reports
    heard = json.loads(await asyncio.wait_for(listener.stdout.read(), 60))
    await listener.wait()
    lines = [(arrived - stamp) / 1e6 for stamp, arrived in heard["lines"] if start_ns <= stamp <= end_ns]
    echoes = [(arrived - sent) / 1e6 for sent, arrived in heard["echoes"] if start_ns <= sent <= end_ns]
    return {"seconds": (end_ns - start_ns) / 1e9, "lines": _stats(lines), "commands": _stats(echoes),
            "load": max(load_before, os.getloadavg()[0]), **outcome}


async def _listen(url: str) -> None:
    """The measuring client (``--listen URL``): one WebSocket reading every line and pinging
    every 200 ms; says ``ready`` after a second's warm-up, stops half a second after its stdin
    closes, and prints what it heard: each line's stamp and arrival, each ping's send and echo."""
    frames: list[tuple[int, str]] = []
    sent: dict[int, int] = {}
    async with connect(url, additional_headers={"X-API-Key": ADMIN_KEY}, proxy=None,
                       ping_interval=None, max_size=None) as ws:
        reader = asyncio.create_task(_read(ws, frames))
        pinger = asyncio.create_task(_ping(ws, sent))
        await asyncio.sleep(1.0)  # warm-up: before the measurement's start
        print("ready", flush=True)
        stdin = asyncio.StreamReader()
        await asyncio.get_running_loop().connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
        await stdin.read()
        await asyncio.sleep(0.5)  # lines and echoes in flight
        pinger.cancel()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(reader, pinger)
    lines: list[tuple[int, int]] = []
    echoes: list[tuple[int, int]] = []
    for arrived, frame in frames:
        lines.extend((int(stamp), arrived) for _, stamp in LINE.findall(frame))
        echoes.extend((sent[int(n)], arrived) for n in PING.findall(frame) if int(n) in sent)
    print(json.dumps({"lines": lines, "echoes": echoes}), flush=True)


# The control phase's loops, in the idle CPU policy as the backup's child is: ``cpu`` spins;
# ``memory`` (``--control memory``) writes, reads back and deletes 256 MiB files in /dev/shm,
# the child's memory traffic without its work.
CONTROL_LOOPS = {
    "cpu": "import os\nos.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))\nwhile True: pass",
    "memory": (
        "import os, sys\nos.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))\n"
        "d = sys.argv[1]\nb = os.urandom(1 << 20)\n"
        "while True:\n f = open(d + '/x', 'wb')\n for _ in range(256): f.write(b)\n f.close()\n"
        " g = open(d + '/x', 'rb')\n while g.read(1 << 20): pass\n g.close(); os.unlink(d + '/x')\n"),
}


@contextlib.contextmanager
def _idle_busy_loops(count: int, control: str) -> Any:
    """``count`` processes busy in the idle CPU policy, as the backup's child runs."""
    spin = CONTROL_LOOPS[control]
    memory = Path("/dev/shm")
    with tempfile.TemporaryDirectory(dir=memory if memory.is_dir() else None) as tmp:
        folders = [Path(tmp) / str(n) for n in range(count)]
        for folder in folders:
            folder.mkdir()
        loops = [subprocess.Popen([sys.executable, "-c", spin, str(folder)]) for folder in folders]
        try:
            yield
        finally:
            for loop in loops:
                loop.kill()
                loop.wait(10)


async def _read(ws: Any, frames: list[tuple[int, str]]) -> None:
    async for message in ws:
        frames.append((time.monotonic_ns(), message))


async def _ping(ws: Any, sent: dict[int, int]) -> None:
    n = 0
    while True:
        n += 1
        sent[n] = time.monotonic_ns()
        await ws.send(json.dumps({"type": "command", "command": f"/ping {n}"}))
        await asyncio.sleep(PING_EVERY_S)


async def _backup(base: str) -> dict[str, Any]:
    headers = {"X-API-Key": ADMIN_KEY}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        started = time.monotonic()
        answer = await client.post("/backups")
        answer.raise_for_status()
        id = answer.json()["id"]
        while True:
            await asyncio.sleep(0.5)
            job = (await client.get(f"/backups/{id}")).json()
            if job["state"] != "running":
                break
        took = time.monotonic() - started
    if job["state"] != "done":
        raise RuntimeError(f"the backup failed: {job['error']}")
    return {"backup_s": took, "archive_bytes": job["size"], "world_bytes": job["bytes_total"]}


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0, "p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    ordered = sorted(values)
    return {"n": len(ordered), "p50": ordered[len(ordered) // 2],
            "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], "max": ordered[-1]}


def _median(runs: list[dict[str, Any]], *path: str) -> float:
    values = []
    for run in runs:
        value: Any = run
        for key in path:
            value = value[key]
        values.append(float(value))
    return statistics.median(values)


def _table(runs: list[dict[str, Any]], args: argparse.Namespace, kind: str) -> str:
    def row(phase: str) -> str:
        lat = " / ".join(f"{_median(runs, phase, 'lines', k):.2f}" for k in ("p50", "p99", "max"))
        cmd = " / ".join(f"{_median(runs, phase, 'commands', k):.2f}" for k in ("p50", "p99", "max"))
        return (f"| {phase} | {_median(runs, phase, 'lines', 'n'):.0f} | {lat} | "
                f"{_median(runs, phase, 'commands', 'n'):.0f} | {cmd} | {_median(runs, phase, 'load'):.1f} |")

    took = _median(runs, "during", "backup_s")
    world = _median(runs, "during", "world_bytes")
    ratio = _median(runs, "during", "lines", "p99") / _median(runs, "without", "lines", "p99")
    cmd_ratio = _median(runs, "during", "commands", "p99") / _median(runs, "without", "commands", "p99")
    return "\n".join([
        f"{args.size_mb} MiB world on {kind}, {args.rate:g} lines/s, {len(runs)} run(s)"
        f"{' (medians)' if len(runs) > 1 else ''}, {os.cpu_count()} CPUs",
        "",
        "| phase | lines | line latency p50 / p99 / max (ms) | commands | command round trip "
        "p50 / p99 / max (ms) | load avg (1 min) |",
        "|---|--:|--:|--:|--:|--:|",
        row("without"),
        row("during"),
        row("idle hogs"),
        "",
        f"backup: {took:.1f} s from start to verified, {world / MIB / took:.0f} MiB/s of world, "
        f"archive {_median(runs, 'during', 'archive_bytes') / MIB:.0f} MiB; "
        f"p99 during / without: lines {ratio:.2f}x, commands {cmd_ratio:.2f}x",
    ])


def _fs_type(path: Path) -> str:
    best, kind = "", "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/mounts").read_text().splitlines():
            _, mount, fstype, *_ = line.split()
            if str(path.resolve()).startswith(mount) and len(mount) > len(best):
                best, kind = mount, fstype
    return kind


if __name__ == "__main__":
    sys.exit(main())
