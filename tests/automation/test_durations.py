"""Durations as written in the schedules file and as read by players."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vsmanager.automation.durations import (
    MAX_DURATION_S,
    DurationError,
    format_duration,
    parse_duration,
    spoken_duration,
)


@pytest.mark.parametrize(("text", "seconds"), [
    ("90s", 90), ("15m", 900), ("1h", 3600), ("1h30m", 5400), ("2d", 172_800), (" 5S ", 5),
    ("1d2h3m4s", 93_784),
])
def test_durations_parse(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "m", "1.5h", "-5s", "0s", "30m1h", "1h1h", "5 m", "400d",
                                  "1w", "9" * 50 + "s"])
def test_bad_durations_are_refused_with_an_example(text: str) -> None:
    with pytest.raises(DurationError):
        parse_duration(text)


def test_a_duration_must_be_text() -> None:
    with pytest.raises(DurationError, match="in quotes"):
        parse_duration(90)


@given(st.integers(min_value=1, max_value=MAX_DURATION_S))
def test_format_round_trips(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize(("seconds", "words"), [
    (300, "5 minutes"), (60, "1 minute"), (10, "10 seconds"), (1, "1 second"),
    (5400, "1 hour 30 minutes"), (3605, "1 hour"), (900, "15 minutes"), (86_400, "1 day"), (0, "now"),
])
def test_warnings_read_like_speech(seconds: int, words: str) -> None:
    assert spoken_duration(seconds) == words
