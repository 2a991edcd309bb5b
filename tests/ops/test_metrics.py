"""The resource sampler: real process trees read through psutil, and the series it keeps."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from harness import ADMIN_KEY, TIME_SCALE, stop_process
from vsmanager.config.settings import load_settings
from vsmanager.console.buffer import ConsoleBuffer
from vsmanager.console.counters import LatencyHistogram
from vsmanager.console.feed import ConsoleFeed
from vsmanager.game.supervisor import Supervisor
from vsmanager.ops.metrics import MetricsSampler, ProcessTreeMeter

# A parent that starts two children; all three spin for a while, then sleep; the parent
# has an extra thread. What the tree meter must add up.
TREE = """
import subprocess, sys, threading, time
SPIN = ("import time\\nend = time.process_time() + {spin}\\n"
        "while time.process_time() < end: pass\\ntime.sleep(60)")
kids = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(2)]
threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
exec(SPIN)
"""


@pytest.fixture
def tree() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-c", TREE.replace("{spin}", "0.3")],
                               start_new_session=True)
    try:
        yield process
    finally:
        stop_process(process, timeout=5)


def wait_for_children(pid: int, count: int) -> None:
    import psutil

    deadline = time.monotonic() + 10 * TIME_SCALE
    while time.monotonic() < deadline:
        if len(psutil.Process(pid).children()) >= count:
            return
        time.sleep(0.02)
    raise AssertionError("the children never started")


def test_tree_meter_adds_up_the_whole_tree(tree: subprocess.Popen[bytes]) -> None:
    wait_for_children(tree.pid, 2)
    meter = ProcessTreeMeter(descendants=True)
    used = 0.0
    deadline = time.monotonic() + 20 * TIME_SCALE
    # Three processes spin 0.3 s of CPU each: the readings add up to at least 0.9 s.
    while used < 0.9 and time.monotonic() < deadline:
        reading = meter.read(tree.pid)
        assert reading is not None
        used += reading.cpu_seconds
        time.sleep(0.1)
    assert used >= 0.9
    reading = meter.read(tree.pid)
    assert reading is not None
    assert reading.threads >= 4  # 3 main threads and the parent's extra one
    assert reading.rss_bytes > 3 * 1024 * 1024


def test_tree_meter_counts_each_cpu_second_once(tree: subprocess.Popen[bytes]) -> None:
    wait_for_children(tree.pid, 2)
    meter = ProcessTreeMeter(descendants=True)
    time.sleep(0.05)
    first = meter.read(tree.pid)
    second = meter.read(tree.pid)
    assert first is not None and second is not None
    # Two readings in a row: the second only has what was used between them.
    assert second.cpu_seconds < first.cpu_seconds + 0.2


def test_tree_meter_of_a_gone_process_reads_nothing() -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(10)
    assert ProcessTreeMeter(descendants=True).read(process.pid) is None


def test_self_meter_leaves_out_children() -> None:
    meter = ProcessTreeMeter(descendants=False)
    meter.read(os.getpid())
    end = time.process_time() + 0.2
    while time.process_time() < end:
        pass
    reading = meter.read(os.getpid())
    assert reading is not None and reading.cpu_seconds >= 0.15
    assert reading.threads >= 1


async def test_sampler_samples_a_running_game_and_keeps_the_retention() -> None:
    settings = load_settings(
        api_key_admin=ADMIN_KEY,
        server_command=f"{sys.executable} -c 'import time; print(\"hello\", flush=True); time.sleep(30)'",
        server_ready_pattern="",
        metrics_interval=0.5,
        metrics_retention=1.5,
        server_stop_command="",
        server_kill_timeout=2,
    )
    feed = ConsoleFeed(ConsoleBuffer(1000, 1024 * 1024))
    supervisor = Supervisor(settings, feed)
    sampler = MetricsSampler(settings, supervisor, feed)
    assert sampler.samples.maxlen == 3
    idle = await sampler.sample()
    assert idle.game_cpu_percent is None and idle.game_rss_bytes is None and idle.game_threads is None
    await supervisor.start()
    try:
        sampler.start()
        deadline = time.monotonic() + 20 * TIME_SCALE
        while sampler.samples_taken < 5 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert sampler.samples_taken >= 5
        assert len(sampler.samples) == 3  # the retention
        latest = sampler.latest
        assert latest is not None
        assert latest.game_rss_bytes is not None and latest.game_rss_bytes > 1024 * 1024
        assert latest.game_threads is not None and latest.game_threads >= 1
        assert latest.game_cpu_percent is not None and latest.game_cpu_percent >= 0
        assert latest.self_rss_bytes > 1024 * 1024
        assert sampler.game_cpu_seconds_total > 0  # the interpreter's start-up, at least
        times = [sample.t for sample in sampler.samples]
        assert times == sorted(times)
        assert sampler.since(times[0]) == list(sampler.samples)[1:]
        assert sampler.since(times[-1]) == []
        assert sampler.sampling_cpu_seconds > 0
    finally:
        await sampler.stop()
        await supervisor.stop()
        await supervisor.shutdown()


async def test_sampler_counts_lines_per_second_and_clients() -> None:
    settings = load_settings(api_key_admin=ADMIN_KEY, server_command="true", metrics_interval=1)
    feed = ConsoleFeed(ConsoleBuffer(1000, 1024 * 1024))
    supervisor = Supervisor(settings, feed)
    sampler = MetricsSampler(settings, supervisor, feed)
    await sampler.sample()
    for n in range(50):
        feed.publish("stdout", f"line {n}")
    feed.readers = 3
    supervisor.game.observe("stdout", "[Server Event] Priya13 [::1]:1 joins.")
    sample = await sampler.sample()
    assert sample.lines_per_second > 50  # 50 lines in far less than a second
    assert (sample.clients, sample.players_online) == (3, 1)


def test_latency_histogram_buckets_are_cumulative() -> None:
    histogram = LatencyHistogram((0.001, 0.01))
    for seconds in (0.0005, 0.001, 0.002, 0.5):
        histogram.observe(seconds)
    assert histogram.cumulative() == [("0.001", 2), ("0.01", 3), ("+Inf", 4)]
    assert histogram.sum == pytest.approx(0.5035)
