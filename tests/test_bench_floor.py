"""bench/write_floor.py, the floor docs/benchmarks.md compares vsmanager with, measures what
it says: every line the game sent in the window reaches every reader, with a latency."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_the_floor_benchmark_delivers_every_line_and_prints_its_row() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "write_floor.py"), "--clients", "4", "--groups", "2",
         "--writes", "400", "--rate", "200", "--seconds", "1", "--runs", "1"],
        capture_output=True, text=True, timeout=120, cwd=BENCH,
    )
    assert done.returncode == 0, done.stderr
    (row,) = [line for line in done.stdout.splitlines() if line.startswith("| 400 |")]
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[1] == "10.0 ms"  # 4 clients, 400 writes a second: each every 10 ms
    p50, p99, worst = (float(x) for x in cells[2].split(" / "))
    # A line waits for its client's next write: at most the interval, plus the way there.
    assert 0 < p50 <= p99 <= worst < 1000
    read, lost = (int(x.replace(",", "")) for x in cells[3].split(", "))
    assert lost == 0
    assert 4 * 150 <= read <= 4 * 210  # each of 4 readers, the ~200 lines of the 1 s window
    assert float(cells[4]) > 0  # the server's CPU was measured
