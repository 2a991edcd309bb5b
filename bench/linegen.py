"""A game server that only prints numbered, timestamped lines at a steady rate.

Each line reads ``LG <seq> <send time, CLOCK_MONOTONIC ns> <padding>``; CLOCK_MONOTONIC is
system-wide on Linux, so a client in another process computes latency from the line alone.

It also measures what the benchmark must guarantee the game: how long each stdout
write+flush blocked. A thread rewrites ``--progress`` every 20 ms (last seq, the write in
progress if any, the slow writes so far) so the benchmark can read them mid-run, even while
a write is stuck; a summary line goes to ``--summary`` (or stderr) at exit.

With ``--snapshot FILE`` it answers ``/backup NAME`` like a game that makes its own copy:
it hard-links FILE as ``snapshots/NAME`` and prints ``Backup done NAME`` (for
bench/backup_console.py; a link costs the game nothing, so only vsmanager's work is measured).

Stops on ``/stop`` on stdin, SIGTERM, a closed pipe, its parent's death, or ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

SLOW_WRITE_NS = 5_000_000  # writes at least this slow are listed one by one
STALL_NS = 100_000_000  # the bound the benchmark checks: a write blocked over 100 ms
MAX_LISTED = 200
PROGRESS_INTERVAL_S = 0.02


class WriteStats:
    """What the main thread's writes cost; read by the progress thread without a lock
    (single assignments of ints are atomic under the GIL; slightly stale is fine)."""

    def __init__(self) -> None:
        self.seq = 0
        self.sent_ns = 0
        self.writing_since_ns = 0  # 0 when no write is in progress
        self.max_block_ns = 0
        self.blocks_over_100ms = 0
        self.slow_writes: list[tuple[int, int]] = []  # (start ns, duration ns), newest last

    def record(self, start_ns: int, end_ns: int) -> None:
        block = end_ns - start_ns
        if block > self.max_block_ns:
            self.max_block_ns = block
        if block >= SLOW_WRITE_NS:
            self.slow_writes.append((start_ns, block))
            del self.slow_writes[:-MAX_LISTED]
        if block > STALL_NS:
            self.blocks_over_100ms += 1

    def snapshot(self) -> dict[str, object]:
        now = time.monotonic_ns()
        since = self.writing_since_ns
        return {
            "pid": os.getpid(),
            "now_ns": now,
            "seq": self.seq,
            "sent_ns": self.sent_ns,
            "writing_since_ns": since or None,
            "max_block_ns": max(self.max_block_ns, now - since if since else 0),
            "blocks_over_100ms": self.blocks_over_100ms + (1 if since and now - since > STALL_NS else 0),
            "slow_writes": list(self.slow_writes),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000.0, help="lines per second (0: silent)")
    parser.add_argument("--line-bytes", type=int, default=100, help="bytes per line, newline included")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="exit after this long")
    parser.add_argument("--progress", type=Path, help="file rewritten every 20 ms with progress")
    parser.add_argument("--summary", type=Path, help="file for the summary line (default stderr)")
    parser.add_argument("--snapshot", type=Path, help="answer /backup NAME with a link to this file")
    args = parser.parse_args(argv)

    stats = WriteStats()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, _exit_on_signal)
    parent = os.getppid()
    replies: list[str] = []  # lines the stdin thread asks the main thread to print
    threading.Thread(target=_watch_stdin, args=(stop, args.snapshot, replies), daemon=True).start()
    started = time.monotonic()
    deadline = started + args.max_seconds
    threading.Thread(target=_report, args=(stats, args.progress, stop, parent, deadline),
                     daemon=True).start()
    try:
        _generate(args, stats, stop, deadline, replies)
    except BrokenPipeError:
        # Nobody reads us any more; keep the interpreter's final flush from failing too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except SystemExit:
        pass
    finally:
        stop.set()
        _write_summary(stats, args, time.monotonic() - started)
        if args.progress:
            _write_atomically(args.progress, json.dumps(stats.snapshot()))
    return 0


def _generate(args: argparse.Namespace, stats: WriteStats, stop: threading.Event,
              deadline: float, replies: list[str]) -> None:
    out = sys.stdout.buffer
    pad = "x" * max(0, args.line_bytes - 48)
    interval = 1.0 / args.rate if args.rate > 0 else 0.0
    next_at = time.monotonic()
    seq = 0
    while not stop.is_set() and time.monotonic() < deadline:
        if interval == 0.0:
            time.sleep(0.05)
            continue
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        while replies:
            out.write(f"{replies.pop(0)}\n".encode())
        seq += 1
        # A fixed schedule: a late line does not push the following ones back.
        next_at += interval
        start = time.monotonic_ns()
        line = f"LG {seq} {start} [Server Event] tick {pad}\n".encode()
        stats.writing_since_ns = start
        out.write(line)
        out.flush()
        end = time.monotonic_ns()
        stats.writing_since_ns = 0
        stats.record(start, end)
        stats.seq, stats.sent_ns = seq, start


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _interrupt_main() -> None:
    # Aimed at the main thread so that a write stuck on a full pipe is interrupted too.
    signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGTERM)


def _block_signals() -> None:
    # Helper threads never take SIGTERM, so the kernel always interrupts the main thread.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})


def _watch_stdin(stop: threading.Event, snapshot: Path | None, replies: list[str]) -> None:
    # vsmanager stops a game by writing its stop command; EOF alone (stdin from /dev/null
    # under the baseline) means nothing.
    _block_signals()
    for raw in sys.stdin:
        line = raw.strip()
        if line == "/stop":
            stop.set()
            _interrupt_main()
            return
        if snapshot is not None and line.startswith("/backup "):
            name = line.split(maxsplit=1)[1]
            Path("snapshots").mkdir(exist_ok=True)
            os.link(snapshot, Path("snapshots") / name)
            replies.append(f"Backup done {name}")


def _report(stats: WriteStats, path: Path | None, stop: threading.Event, parent: int,
            deadline: float) -> None:
    _block_signals()
    while not stop.wait(PROGRESS_INTERVAL_S):
        if path is not None:
            _write_atomically(path, json.dumps(stats.snapshot()))
        # Whoever reads our output is gone, or our time is up even though a write is stuck.
        if os.getppid() != parent or time.monotonic() > deadline + 1.0:
            stop.set()
            _interrupt_main()
            return


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{threading.get_ident()}")
    with contextlib.suppress(OSError):
        tmp.write_text(text)
        os.replace(tmp, path)


def _write_summary(stats: WriteStats, args: argparse.Namespace, elapsed: float) -> None:
    snap = stats.snapshot()
    summary = (
        f"linegen: {stats.seq} lines in {elapsed:.1f} s at {args.rate:g}/s; stdout write+flush "
        f"blocked max {snap['max_block_ns'] / 1e6:.1f} ms, "
        f"{snap['blocks_over_100ms']} blocks over 100 ms\n"
    )
    if args.summary:
        with contextlib.suppress(OSError):
            args.summary.write_text(summary)
    else:
        with contextlib.suppress(OSError):
            sys.stderr.write(summary)
            sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
