"""Next due times: cron in a time zone (DST days included) and intervals."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vsmanager.automation.timing import CronTiming, IntervalTiming, TimingError, between, upcoming, zone

BERLIN = ZoneInfo("Europe/Berlin")


def local(timing: CronTiming, moments: list[datetime]) -> list[str]:
    return [m.astimezone(timing.tz).isoformat() for m in moments]


def test_nightly_in_berlin_is_at_four_local_time() -> None:
    timing = CronTiming("0 4 * * *", BERLIN)
    after = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert local(timing, upcoming(timing, after, 2)) == [
        "2026-07-02T04:00:00+02:00", "2026-07-03T04:00:00+02:00"]


def test_a_time_skipped_by_spring_forward_runs_once_at_the_next_valid_minute() -> None:
    timing = CronTiming("30 2 * * *", BERLIN)
    after = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    assert local(timing, upcoming(timing, after, 3)) == [
        "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00", "2026-03-31T02:30:00+02:00"]


def test_a_time_that_occurs_twice_in_fall_back_runs_once() -> None:
    timing = CronTiming("30 2 * * *", BERLIN)
    after = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)
    assert local(timing, upcoming(timing, after, 2)) == [
        "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]


def test_a_wildcard_hour_does_not_repeat_the_hour_that_occurs_twice() -> None:
    timing = CronTiming("*/30 * * * *", BERLIN)
    after = datetime(2026, 10, 24, 23, 50, tzinfo=UTC)  # 01:50 CEST
    assert local(timing, upcoming(timing, after, 4)) == [
        "2026-10-25T02:00:00+02:00", "2026-10-25T02:30:00+02:00",
        "2026-10-25T03:00:00+01:00", "2026-10-25T03:30:00+01:00"]


def test_other_zones_keep_their_own_rules() -> None:
    # New York springs forward on 8 March 2026 at 02:00.
    timing = CronTiming("15 2 * * *", ZoneInfo("America/New_York"))
    after = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    assert local(timing, upcoming(timing, after, 2)) == [
        "2026-03-08T03:00:00-04:00", "2026-03-09T02:15:00-04:00"]


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)),
       st.sampled_from(["0 4 * * *", "*/30 * * * *", "30 2 * * 0", "15 1,2,3 * * *", "0 0 1 * *"]),
       st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Sydney", "UTC", "Asia/Kolkata"]))
def test_due_times_only_move_forward_and_never_repeat(moment: datetime, expression: str, name: str) -> None:
    timing = CronTiming(expression, ZoneInfo(name))
    start = moment.replace(tzinfo=UTC)
    times = upcoming(timing, start, 6)
    assert times and times[0] > start
    assert all(a < b for a, b in itertools.pairwise(times))
    walls = [t.astimezone(timing.tz).replace(tzinfo=None) for t in times]
    assert len(set(walls)) == len(walls)  # no wall-clock time twice


@pytest.mark.parametrize("expression", ["", "* * * *", "* * * * * *", "61 * * * *", "a b c d e", "0 0 30 2 *"])
def test_bad_cron_expressions_are_refused(expression: str) -> None:
    with pytest.raises(TimingError):
        CronTiming(expression, UTC)


def test_unknown_zones_are_refused() -> None:
    with pytest.raises(TimingError, match="Europe/Berlin"):
        zone("Mars/Olympus")
    with pytest.raises(TimingError):
        zone("../../etc/passwd")


def test_an_interval_runs_one_interval_after_its_anchor() -> None:
    anchor = datetime(2026, 1, 1, tzinfo=UTC)
    timing = IntervalTiming(2, anchor)
    assert upcoming(timing, anchor, 3) == [anchor + timedelta(seconds=s) for s in (2, 4, 6)]
    assert timing.after(anchor + timedelta(seconds=3)) == anchor + timedelta(seconds=4)


@given(st.integers(min_value=1, max_value=86_400), st.floats(min_value=0, max_value=10**7))
def test_an_interval_is_always_strictly_after(every: int, offset: float) -> None:
    anchor = datetime(2026, 1, 1, tzinfo=UTC)
    moment = anchor + timedelta(seconds=offset)
    due = IntervalTiming(every, anchor).after(moment)
    assert due is not None and moment < due <= moment + timedelta(seconds=every)


def test_between_counts_the_slots_in_a_window() -> None:
    timing = CronTiming("0 4 * * *", UTC)
    start = datetime(2026, 1, 1, 4, tzinfo=UTC)
    assert len(between(timing, start, start + timedelta(days=3), 100)) == 3
    assert len(between(timing, start, start + timedelta(days=300), 100)) == 100
