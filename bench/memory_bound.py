"""Does VS_CONSOLE_BUFFER_BYTES bound vsmanager's memory? RSS growth against the bound.

A real ``vsmanager serve`` whose game prints far more than the bound (three times the
buffer's worth, as fast as it is read), in lines of ASCII, Cyrillic (2 bytes a character in
CPython) or with one emoji (the whole line 4 bytes a character), with no client or with one
JSON client reading everything (so every line's JSON is encoded and cached). The figure is
vsmanager's RSS at the end minus its RSS before the first line, over the bound.

    python bench/memory_bound.py                      # every case, 64 MiB bound
    python bench/memory_bound.py --mib 16 --case emoji-json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import ADMIN_KEY, WS_PATH, free_port

LINE_CHARS = 200
KINDS = {"ascii": "a" * LINE_CHARS, "cyrillic": "ж" * LINE_CHARS,
         "emoji": "😀" + "a" * (LINE_CHARS - 1)}
TARGET_RATIO = 1.5

# The game: waits for "go" on stdin, prints COUNT numbered lines of TEXT, then "done".
GAME = r"""
import sys
text, count = sys.argv[1], int(sys.argv[2])
print("ready", flush=True)
sys.stdin.readline()
out = sys.stdout
for n in range(count):
    out.write(f"{n} {text}\n")
out.write("done\n")
out.flush()
sys.stdin.readline()
"""


@dataclass
class Result:
    case: str
    lines: int
    rss_before: int
    rss_after: int
    rss_peak: int
    bound: int
    client_lines: int

    @property
    def ratio(self) -> float:
        return (self.rss_after - self.rss_before) / self.bound


def line_cost_estimate(text: str, with_json: bool) -> int:
    cost = sys.getsizeof(text) + 200
    return cost + (sys.getsizeof(text) + 80 if with_json else 0)


def run_case(kind: str, with_json: bool, bound: int) -> Result:
    text = KINDS[kind]
    count = 3 * bound // line_cost_estimate(text, with_json)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VS_")}
    env.update(
        VS_API_KEY_ADMIN=ADMIN_KEY,
        VS_SERVER_COMMAND=shlex.join([sys.executable, "-u", "-c", GAME, text, str(count)]),
        VS_SERVER_AUTOSTART="true",
        VS_SERVER_READY_PATTERN="^ready$",
        VS_SERVER_STOP_COMMAND="",
        VS_SERVER_STOP_TIMEOUT="2",
        VS_SERVER_KILL_TIMEOUT="2",
        VS_CONSOLE_BUFFER_BYTES=str(bound),
        VS_CONSOLE_BUFFER_LINES="1000000",
        VS_WS_SEND_TIMEOUT="120",
    )
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "vsmanager", "serve", "--port", str(port)], env=env,
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        try:
            before, after, peak, client_lines = asyncio.run(
                measure(process, port, with_json, timeout=600))
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(15)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
    case = f"{kind}{'-json' if with_json else ''}"
    return Result(case, count, before, after, peak, bound, client_lines)


async def measure(process: subprocess.Popen[bytes], port: int, with_json: bool,
                  timeout: float) -> tuple[int, int, int, int]:
    """RSS before the first line, at the end and at its peak; lines the client read."""
    base = f"http://127.0.0.1:{port}/api/v1alpha1"
    headers = {"X-API-Key": ADMIN_KEY}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as http:
        await _wait_running(http, process)
        rss = psutil.Process(process.pid)
        client_lines = 0
        done = asyncio.Event()

        async def read_all() -> None:
            nonlocal client_lines
            url = f"ws://127.0.0.1:{port}{WS_PATH}?format=json&history_lines=0"
            async with connect(url, additional_headers=headers, max_size=None) as ws:
                async for message in ws:
                    for line in json.loads(message).get("lines", ()):
                        client_lines += 1
                        if line["text"] == "done":
                            done.set()
                            return

        reader = asyncio.create_task(read_all()) if with_json else None
        await asyncio.sleep(1.0)
        before = peak = rss.memory_info().rss
        await http.post("/console/command", json={"command": "go"})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            peak = max(peak, rss.memory_info().rss)
            if with_json:
                if done.is_set():
                    break
            else:
                last = (await http.get("/console/history", params={"lines": 1})).json()
                if last["lines"] and last["lines"][-1]["text"] == "done":
                    break
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)
        after = rss.memory_info().rss
        if reader is not None:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
    return before, after, max(peak, after), client_lines


async def _wait_running(http: httpx.AsyncClient, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"vsmanager exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if (await http.get("/server/status")).json()["state"] == "running":
                return
        await asyncio.sleep(0.1)
    raise RuntimeError("vsmanager never reported running")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64, help="VS_CONSOLE_BUFFER_BYTES in MiB")
    cases = [f"{kind}{suffix}" for kind in KINDS for suffix in ("", "-json")]
    parser.add_argument("--case", action="append", choices=cases, help="default: all")
    args = parser.parse_args(argv)
    bound = args.mib * 1024 * 1024
    print(f"| case | lines printed | RSS before (MiB) | after (MiB) | peak (MiB) | growth / bound "
          f"| ≤ {TARGET_RATIO}x |")
    print("|---|--:|--:|--:|--:|--:|---|")
    worst = 0.0
    for case in args.case or cases:
        kind, _, json_client = case.partition("-")
        result = run_case(kind, bool(json_client), bound)
        worst = max(worst, result.ratio)
        mib = 1024 * 1024
        print(f"| {result.case} | {result.lines:,} | {result.rss_before / mib:.1f} | "
              f"{result.rss_after / mib:.1f} | {result.rss_peak / mib:.1f} | "
              f"{result.ratio:.2f}x | {'yes' if result.ratio <= TARGET_RATIO else 'no'} |",
              flush=True)
    return 0 if worst <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
