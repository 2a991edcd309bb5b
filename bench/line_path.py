"""A line's way into the console, timed where it runs: once per wake-up, not in a loop.

vsmanager's line path (the pipe's chunk split into lines, each numbered, stamped, kept in the
ring buffer and read for the game's facts, wired as the supervisor wires them) is fed by the
same game as the streaming benchmark (bench/linegen.py, ~95 B lines at ``--rate``) in a bare
uvloop process, and each call of the pipe's callback is timed. Beside it, in the same
invocation and interleaved: a reader that only counts the lines (what a wake-up costs with
no path at all), and the same path called back to back in a loop (what the path costs with
its code and data in the caches). Prints medians; CPU is the process's own over the window.

Issue #20's fifth round (docs/benchmarks.md) found the path costs several times more in
place than in a loop; this makes that reproducible.

    python bench/line_path.py                    # 3 runs of each, 8 s windows, 1,000 lines/s
    python bench/line_path.py --runs 5 --rate 2000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import uvloop
from load import cpu_seconds
from servers import linegen_argv

from vsmanager.config.settings import Settings
from vsmanager.console.buffer import ConsoleBuffer, Stream
from vsmanager.console.capture import GameProtocol, PipeCapture
from vsmanager.console.feed import ConsoleFeed
from vsmanager.game.profile import GameFacts, build_profile

WARMUP_S = 2.0
START_TIMEOUT_S = 60.0
LOOP_LINES = 200_000
LOOP_LINE = b"LG 1 123456789012345 " + b"x" * 73 + b"\n"


def _line_path(loop: asyncio.AbstractEventLoop) -> tuple[GameProtocol, ConsoleFeed]:
    """The capture, feed, buffer and facts with default settings, as Supervisor wires them."""
    settings = Settings()
    feed = ConsoleFeed(ConsoleBuffer(settings.console_buffer_lines, settings.console_buffer_bytes))
    facts = GameFacts(build_profile(settings.game_profile, settings.game_patterns))

    def publish(stream: Stream, text: str) -> None:  # Supervisor._capture_line's part per line
        feed.publish(stream, text)
        facts.observe(stream, text)

    captures = {fd: PipeCapture(stream, publish, settings.console_max_line_bytes,
                                settings.console_partial_flush_s, loop, feed, gated=False)
                for fd, stream in ((1, "stdout"), (2, "stderr"))}
    return GameProtocol(captures, loop), feed


class _Timed(GameProtocol):
    """Hands each chunk of the game's output to ``handle``, timing every call."""

    def __init__(self, loop: asyncio.AbstractEventLoop,
                 handle: Callable[[int, bytes | str], object]) -> None:
        super().__init__({}, loop)
        self._handle = handle
        self.took: list[int] = []

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        began = time.perf_counter_ns()
        self._handle(fd, data)
        self.took.append(time.perf_counter_ns() - began)


def _count_lines(fd: int, data: bytes | str) -> int:
    """No path: what a wake-up for a chunk costs by itself."""
    return data.count(b"\n" if isinstance(data, bytes) else "\n")


async def in_place(kind: str, rate: float, seconds: float, warmup: float = WARMUP_S) -> dict[str, float]:
    """Feed the path (``kind`` "path") or a line counter ("bare") from the game for
    ``seconds`` after a warm-up; each callback timed, the process's CPU over the window."""
    loop = asyncio.get_running_loop()
    handle = _line_path(loop)[0].pipe_data_received if kind == "path" else _count_lines
    protocol = _Timed(loop, handle)
    took = protocol.took

    with tempfile.TemporaryDirectory() as tmp:
        transport, reader = await loop.subprocess_exec(
            lambda: protocol, *linegen_argv(rate, Path(tmp) / "progress.json", warmup + seconds + 30),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, start_new_session=True)  # as vsmanager starts its game
        try:
            # A loaded machine takes seconds to start a Python: the warm-up begins at the first line.
            deadline = loop.time() + START_TIMEOUT_S
            while not took:
                if loop.time() > deadline:
                    raise RuntimeError(f"the game printed nothing in {START_TIMEOUT_S:g} s")
                await asyncio.sleep(0.01)
            await asyncio.sleep(warmup)
            calls, cpu = len(took), cpu_seconds(os.getpid())
            await asyncio.sleep(seconds)
            cpu = cpu_seconds(os.getpid()) - cpu
            window = sorted(took[calls:])
        finally:
            transport.kill()
            await asyncio.wait_for(reader.exited, 10)
            transport.close()
    result = {"cpu_pct": 100 * cpu / seconds}
    if window:
        result.update(p50_us=window[len(window) // 2] / 1e3, p90_us=window[9 * len(window) // 10] / 1e3,
                      calls_per_s=len(window) / seconds)
    return result


async def in_a_loop() -> dict[str, float]:
    """The same path, one-line chunks back to back: its cost with everything in the caches."""
    path, feed = _line_path(asyncio.get_running_loop())
    began = time.perf_counter_ns()
    for _ in range(LOOP_LINES):
        path.pipe_data_received(1, LOOP_LINE)
    assert feed.buffer.last_seq == LOOP_LINES
    return {"p50_us": (time.perf_counter_ns() - began) / LOOP_LINES / 1e3}


def _median(results: list[dict[str, float]], key: str) -> float:
    return statistics.median(r.get(key, float("nan")) for r in results)


def _each(results: list[dict[str, float]]) -> str:
    return ", ".join(f"{r['cpu_pct']:.1f}" for r in results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000.0, help="the game's lines a second")
    parser.add_argument("--seconds", type=float, default=8.0, help="the measured window")
    parser.add_argument("--runs", type=int, default=3, help="runs of each (the median is shown)")
    parser.add_argument("--warmup", type=float, default=WARMUP_S, help="seconds before the window")
    args = parser.parse_args(argv)
    print(f"A line's way into the console at {args.rate:g} lines/s: medians of {args.runs} runs "
          f"of {args.seconds:g} s, interleaved (load average {os.getloadavg()[0]:.2f}).\n")
    runs: dict[str, list[dict[str, float]]] = {"bare": [], "path": [], "loop": []}
    for _ in range(args.runs):
        for kind in ("bare", "path"):
            runs[kind].append(uvloop.run(in_place(kind, args.rate, args.seconds, args.warmup)))
        runs["loop"].append(uvloop.run(in_a_loop()))
    print("| how | per call p50 / p90 (µs) | process CPU % | CPU % of each run |")
    print("|---|--:|--:|---|")
    bare, path, looped = runs["bare"], runs["path"], runs["loop"]
    for label, results in (("lines only counted", bare), ("vsmanager's path", path)):
        print(f"| in place, {label} | {_median(results, 'p50_us'):.1f} / {_median(results, 'p90_us'):.1f} "
              f"| {_median(results, 'cpu_pct'):.1f} | {_each(results)} |")
    print(f"| in a loop, vsmanager's path | {_median(looped, 'p50_us'):.1f} | — | — |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
