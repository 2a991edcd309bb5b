"""Resources over time: every interval, the game's process tree and vsmanager itself are
sampled (CPU, memory, threads) with the console's pace, its clients and the players online;
the last hour or so stays in memory for ``GET /server/metrics`` and the page's charts.

The psutil readings run in a worker thread, so the event loop (and the console) never
waits for /proc; the sampler counts its own CPU time, which bench/metrics_cost.py reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

import psutil
import structlog

from vsmanager.config.settings import Settings
from vsmanager.console.feed import ConsoleFeed
from vsmanager.game.supervisor import Supervisor

log = structlog.get_logger("vsmanager.metrics")

# How often the sampler looks whether the game started or ended between two samples (an
# attribute read, nothing more).
PID_CHECK_S = 0.25


@dataclass(frozen=True, slots=True)
class Sample:
    t: float  # unix seconds
    game_cpu_percent: float | None  # of one core; None while no game runs
    game_rss_bytes: int | None
    game_threads: int | None
    self_cpu_percent: float
    self_rss_bytes: int
    lines_per_second: float
    clients: int
    players_online: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class TreeReading:
    cpu_seconds: float  # CPU time used since the previous reading
    rss_bytes: int
    threads: int


class ProcessTreeMeter:
    """Reads a process and (optionally) all its descendants: CPU time used since the last
    reading, resident memory and threads, summed.

    Each process's CPU includes its reaped children's, so a helper process that came and
    went between two readings is still counted (in its parent). A process seen for the
    first time counts all its CPU so far: it started after the previous reading.
    """

    def __init__(self, *, descendants: bool) -> None:
        self.descendants = descendants
        self._last: dict[tuple[int, float], float] = {}

    def read(self, pid: int) -> TreeReading | None:
        try:
            root = psutil.Process(pid)
            processes = [root, *root.children(recursive=True)] if self.descendants else [root]
        except psutil.Error:
            return None
        seen: dict[tuple[int, float], float] = {}
        used = 0.0
        rss = threads = 0
        for process in processes:
            try:
                with process.oneshot():
                    times = process.cpu_times()
                    total = times.user + times.system
                    if self.descendants:
                        total += times.children_user + times.children_system
                    rss += process.memory_info().rss
                    threads += process.num_threads()
                    key = (process.pid, process.create_time())
            except psutil.Error:
                continue  # gone between the listing and the reading
            seen[key] = total
            used += max(0.0, total - self._last.get(key, 0.0))
        self._last = seen
        return TreeReading(used, rss, threads)


class MetricsSampler:
    """Takes a :class:`Sample` every ``interval`` seconds and keeps ``retention`` seconds."""

    def __init__(self, settings: Settings, supervisor: Supervisor, feed: ConsoleFeed) -> None:
        self.interval = settings.metrics_interval
        self.supervisor = supervisor
        self.feed = feed
        kept = max(1, math.ceil(settings.metrics_retention / self.interval))
        self.samples: deque[Sample] = deque(maxlen=kept)
        self.game_cpu_seconds_total = 0.0  # across runs, for Prometheus
        self.samples_taken = 0
        self.sampling_cpu_seconds = 0.0  # what sampling itself cost, in its thread
        self._game = ProcessTreeMeter(descendants=True)
        self._self = ProcessTreeMeter(descendants=False)
        self._last_t = 0.0
        self._last_seq = 0
        self._sampled_pid: int | None = None  # the game's pid at the newest sample
        self._task: asyncio.Task[None] | None = None

    @property
    def latest(self) -> Sample | None:
        return self.samples[-1] if self.samples else None

    def since(self, t: float | None) -> list[Sample]:
        if t is None:
            return list(self.samples)
        return [sample for sample in self.samples if sample.t > t]

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="metrics-sampler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def sample(self) -> Sample:
        """Take one sample now (also what the loop calls every interval)."""
        pid = self.supervisor.pid
        self._sampled_pid = pid
        game, own = await asyncio.to_thread(self._read_processes, pid)
        now = time.time()
        elapsed = max(now - self._last_t, 1e-6)
        seq = self.feed.buffer.last_seq
        game_cpu = None
        if game is not None:
            self.game_cpu_seconds_total += game.cpu_seconds
            game_cpu = round(100.0 * game.cpu_seconds / elapsed, 2)
        sample = Sample(
            t=round(now, 3),
            game_cpu_percent=game_cpu,
            game_rss_bytes=game.rss_bytes if game else None,
            game_threads=game.threads if game else None,
            self_cpu_percent=round(100.0 * own.cpu_seconds / elapsed, 2) if own else 0.0,
            self_rss_bytes=own.rss_bytes if own else 0,
            lines_per_second=round(max(0, seq - self._last_seq) / elapsed, 2),
            clients=self.feed.readers,
            players_online=self.supervisor.game.players_online,
        )
        self._last_t, self._last_seq = now, seq
        self.samples.append(sample)
        self.samples_taken += 1
        return sample

    async def _run(self) -> None:
        # The first sample is taken at once, so a page has a point to show from the start
        # rather than after one interval: its rates run from vsmanager's own start (a
        # process read for the first time counts all its CPU so far).
        if self._last_t == 0.0:
            self._last_t = psutil.Process().create_time()
        loop = asyncio.get_running_loop()
        await self._sample_logged()
        next_at = loop.time() + self.interval
        while True:
            # On a fixed grid, so samples stay evenly spaced whatever one costs; but a game
            # that starts or ends is sampled at once (a new game's first point, the gap at
            # its end), and the grid starts again from there.
            await asyncio.sleep(max(0.0, min(next_at, loop.time() + PID_CHECK_S) - loop.time()))
            started_or_ended = self.supervisor.pid != self._sampled_pid
            if not started_or_ended and loop.time() < next_at:
                continue
            if started_or_ended:
                next_at = loop.time()
            await self._sample_logged()
            next_at += self.interval
            if loop.time() - next_at > self.interval:
                next_at = loop.time()  # the machine was suspended: skip, do not catch up

    async def _sample_logged(self) -> None:
        try:
            await self.sample()
        except Exception:  # a sample lost is no reason to stop sampling
            log.exception("metrics_sample_failed")

    def _read_processes(self, pid: int | None) -> tuple[TreeReading | None, TreeReading | None]:
        started = time.thread_time()
        game = self._game.read(pid) if pid is not None else None
        own = self._self.read(os.getpid())
        self.sampling_cpu_seconds += time.thread_time() - started
        return game, own
