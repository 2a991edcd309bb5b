"""Failure throttle, token buckets and the log budget, with a fake clock."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from vsmanager.access.throttle import CommandLimiter, FailureThrottle, LogBudget, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def throttle(clock: Clock) -> FailureThrottle:
    return FailureThrottle(limit=20, window=60, cooldown=60, clock=clock)


def test_twenty_failures_in_a_minute_do_not_block() -> None:
    clock = Clock()
    guard = throttle(clock)
    assert all(guard.record_failure("10.0.0.1") == 0 for _ in range(20))
    assert guard.retry_after("10.0.0.1") == 0


def test_the_twenty_first_failure_starts_the_cooldown() -> None:
    clock = Clock()
    guard = throttle(clock)
    for _ in range(20):
        guard.record_failure("10.0.0.1")
    assert guard.record_failure("10.0.0.1") == 60
    clock.now += 59
    assert guard.retry_after("10.0.0.1") == 1
    clock.now += 1
    assert guard.retry_after("10.0.0.1") == 0


def test_failures_older_than_the_window_are_forgotten() -> None:
    clock = Clock()
    guard = throttle(clock)
    for _ in range(20):
        guard.record_failure("10.0.0.1")
    clock.now += 60
    assert guard.record_failure("10.0.0.1") == 0


def test_other_addresses_are_unaffected() -> None:
    clock = Clock()
    guard = throttle(clock)
    for _ in range(21):
        guard.record_failure("10.0.0.1")
    assert guard.retry_after("10.0.0.1") > 0
    assert guard.retry_after("10.0.0.2") == 0
    assert guard.record_failure("10.0.0.2") == 0


def test_tracked_addresses_are_bounded() -> None:
    clock = Clock()
    guard = FailureThrottle(20, 60, 60, clock, max_addresses=100)
    for n in range(10_000):
        guard.record_failure(f"10.0.{n // 256}.{n % 256}")
    assert len(guard._failures) <= 100


@settings(max_examples=200, deadline=None, database=None)
@given(gaps=st.lists(st.floats(0, 10), min_size=1, max_size=80))
def test_blocked_exactly_when_more_than_limit_failures_fall_in_a_window(gaps: list[float]) -> None:
    clock = Clock()
    guard = FailureThrottle(limit=5, window=30, cooldown=1000, clock=clock)
    times: list[float] = []
    for gap in gaps:
        clock.now += gap
        if guard.retry_after("a") > 0:
            return  # blocked: what follows is the cool-down, checked elsewhere
        times.append(clock.now)
        blocked = guard.record_failure("a") > 0
        recent = [t for t in times if t > clock.now - 30]
        assert blocked is (len(recent) > 5)


def test_a_bucket_allows_the_burst_then_the_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(20, 5, clock)
    assert all(bucket.take() == 0 for _ in range(20))
    assert bucket.take() == 0.2
    clock.now += 0.2
    assert bucket.take() == 0
    assert bucket.take() > 0


def test_a_bucket_refills_to_the_burst_only() -> None:
    clock = Clock()
    bucket = TokenBucket(3, 5, clock)
    clock.now += 3600
    assert [bucket.take() == 0 for _ in range(4)] == [True, True, True, False]


def test_each_key_has_its_own_bucket() -> None:
    clock = Clock()
    limiter = CommandLimiter(2, 1, clock)
    assert limiter.take("alice") == 0 and limiter.take("alice") == 0
    assert limiter.take("alice") > 0
    assert limiter.take("bob") == 0


@settings(max_examples=200, deadline=None, database=None)
@given(gaps=st.lists(st.floats(0, 2), max_size=200))
def test_a_bucket_never_allows_more_than_burst_plus_rate_times_time(gaps: list[float]) -> None:
    clock = Clock()
    bucket = TokenBucket(20, 5, clock)
    allowed = 0
    for gap in gaps:
        clock.now += gap
        allowed += bucket.take() == 0
    assert allowed <= 20 + 5 * sum(gaps) + 1e-6


def test_the_log_budget_counts_what_it_held_back() -> None:
    clock = Clock()
    budget = LogBudget(2, 1, clock)
    assert [budget.allow() for _ in range(5)] == [0, 0, None, None, None]
    clock.now += 1
    assert budget.allow() == 3
