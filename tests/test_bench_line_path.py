"""bench/line_path.py, which docs/benchmarks.md cites for a line's cost in place, measures
what it says: the path fed by a real game, each call timed, beside a reader that only counts
and the same path in a loop."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_the_line_path_benchmark_times_the_path_in_place_and_in_a_loop() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "line_path.py"), "--runs", "1", "--seconds", "1",
         "--warmup", "0.5", "--rate", "200"],
        capture_output=True, text=True, timeout=120, cwd=BENCH,
    )
    assert done.returncode == 0, done.stderr
    rows = {cells[0]: cells[1:] for cells in (
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in done.stdout.splitlines() if line.startswith("| in "))}
    counted = rows["in place, lines only counted"]
    in_place = rows["in place, vsmanager's path"]
    looped = rows["in a loop, vsmanager's path"]
    p50, p90 = (float(x) for x in in_place[0].split(" / "))
    assert 0 < p50 <= p90  # each call of the pipe's callback was timed, at 200 a second
    # The process's CPU, read from /proc (in 10 ms ticks: counting 200 lines for a second
    # may round to 0).
    assert float(in_place[1]) >= 0 and float(counted[1]) >= 0
    assert float(looped[0]) > 0  # 200,000 lines through the path, per line
