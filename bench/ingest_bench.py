"""Ingest with no client: how fast pipe chunks become lines in the console buffer.

Feeds 200,000 lines of 100 bytes (in 64 KiB chunks, as a busy pipe delivers them) through
the capture's line splitter into the feed, with the default buffer bounds, and reports lines
per second (median of the runs). The target (issue #20) is 400,000 lines/s: 200,000 lines in
at most 0.5 s.

    python bench/ingest_bench.py [--lines 200000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time

from vsmanager.config.settings import Settings
from vsmanager.console.buffer import ConsoleBuffer
from vsmanager.console.capture import PipeCapture
from vsmanager.console.feed import ConsoleFeed

CHUNK_BYTES = 64 * 1024
LINE = "[Server Notification] " + "x" * 77  # 99 characters and the newline: 100 bytes


def chunks(lines: int) -> list[bytes]:
    data = ((LINE + "\n") * lines).encode()
    return [data[i:i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)]


async def ingest_once(pieces: list[bytes], settings: Settings) -> tuple[float, float]:
    """Wall-clock and CPU seconds: on a shared machine the CPU time is what this process
    spent, whatever else ran meanwhile."""
    feed = ConsoleFeed(ConsoleBuffer(settings.console_buffer_lines, settings.console_buffer_bytes))
    capture = PipeCapture("stdout", feed.publish, settings.console_max_line_bytes,
                          settings.console_partial_flush_s, asyncio.get_running_loop())
    began, cpu = time.perf_counter(), time.process_time()
    for piece in pieces:
        capture.data(piece)
    capture.eof()
    return time.perf_counter() - began, time.process_time() - cpu


async def run(lines: int, runs: int) -> list[tuple[float, float]]:
    settings = Settings()
    pieces = chunks(lines)
    return [await ingest_once(pieces, settings) for _ in range(runs)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    load = os.getloadavg()
    results = asyncio.run(run(args.lines, args.runs))
    wall = statistics.median(r[0] for r in results)
    cpu = statistics.median(r[1] for r in results)
    rate = args.lines / cpu
    print(f"{args.lines:,} lines of 100 B in {cpu:.3f} s of CPU, {wall:.3f} s of wall clock "
          f"(medians of {args.runs}): {rate:,.0f} lines/s of CPU; target ≥ 400,000: "
          f"{'met' if rate >= 400_000 else 'NOT met'}; load average "
          f"{load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
