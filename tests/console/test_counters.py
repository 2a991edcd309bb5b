"""The console's counters: plain ints on the hot path, folded into metric shapes when read."""

from __future__ import annotations

from vsmanager.console.counters import ConsoleCounters


def test_frames_written_at_once_join_the_total_and_the_first_bucket_when_read() -> None:
    counters = ConsoleCounters()
    counters.frames_at_once += 5  # the broadcast: written the moment they were owed
    counters.frames_written(3, 0.0)  # a client's own loop, at once
    counters.frames_written(2, 0.2)  # a client's own loop, after waiting for its socket
    assert counters.frames_sent == 10
    buckets = dict(counters.send_latency_buckets())
    assert buckets["0.0001"] == 8  # the five untimed frames and the three that waited 0 s
    assert buckets["0.1"] == 8 and buckets["0.5"] == 10
    assert buckets["+Inf"] == counters.frames_sent  # the histogram's count is the total
    assert counters.send_latency.sum == 0.4


def test_no_frames_at_once_leaves_the_timed_histogram_as_it_is() -> None:
    counters = ConsoleCounters()
    counters.frames_written(1, 0.003)
    assert counters.frames_sent == 1
    assert counters.send_latency_buckets() == counters.send_latency.cumulative()
    assert dict(counters.send_latency_buckets())["0.005"] == 1
