"""parse_options: the console socket's query values, refused as BadQuery when unusable."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vsmanager.config.settings import Settings, load_settings
from vsmanager.console.buffer import MAX_SEQ
from vsmanager.stream.options import BadQuery, StreamOptions, parse_options

PROPERTY = settings(max_examples=300, deadline=None, database=None)


@pytest.fixture(scope="module")
def config() -> Settings:
    return load_settings(console_history_lines=42)


def test_defaults_are_text_format_configured_history_and_no_resume(config: Settings) -> None:
    assert parse_options({}, config) == StreamOptions("text", 42, None)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_text_and_json_formats_are_accepted(config: Settings, fmt: str) -> None:
    assert parse_options({"format": fmt}, config).format == fmt


@pytest.mark.parametrize("fmt", ["", "xml", "JSON", "Text", " json", "json "])
def test_other_formats_are_refused(config: Settings, fmt: str) -> None:
    with pytest.raises(BadQuery, match="format must be text or json"):
        parse_options({"format": fmt}, config)


@pytest.mark.parametrize(("raw", "value"), [("0", 0), ("7", 7), ("007", 7), ("100000", 100000)])
def test_history_lines_accepts_whole_numbers(config: Settings, raw: str, value: int) -> None:
    assert parse_options({"history_lines": raw}, config).history_lines == value


@pytest.mark.parametrize(
    ("raw", "value"), [("0", 0), ("12345", 12345), (str(MAX_SEQ), MAX_SEQ), ("0" * 16, 0)]
)
def test_after_accepts_whole_numbers(config: Settings, raw: str, value: int) -> None:
    assert parse_options({"after": raw}, config).after == value


BAD_NUMBERS = {
    "empty": "",
    "negative": "-1",
    "plus-sign": "+1",
    "leading-space": " 1",
    "trailing-space": "1 ",
    "decimal": "1.0",
    "exponent": "1e3",
    "hex": "0x10",
    "underscore": "1_000",
    "word": "ten",
    "arabic-indic": "\u0661\u0662",
    "superscript": "\u00b2",
    "fullwidth": "\uff11",
    "over-max-seq": str(MAX_SEQ + 1),
    "too-long": "0" * 17,
    "absurd": "9" * 5000,
}


@pytest.mark.parametrize("raw", BAD_NUMBERS.values(), ids=BAD_NUMBERS.keys())
def test_bad_history_lines_is_refused(config: Settings, raw: str) -> None:
    with pytest.raises(BadQuery, match="history_lines must be a whole number"):
        parse_options({"history_lines": raw}, config)


@pytest.mark.parametrize("raw", BAD_NUMBERS.values(), ids=BAD_NUMBERS.keys())
def test_bad_after_is_refused(config: Settings, raw: str) -> None:
    with pytest.raises(BadQuery, match="after must be a whole number"):
        parse_options({"after": raw}, config)


def test_after_and_history_lines_are_both_kept(config: Settings) -> None:
    options = parse_options({"after": "10", "history_lines": "5", "format": "json"}, config)
    assert options == StreamOptions("json", 5, 10)


def test_unknown_query_values_are_ignored(config: Settings) -> None:
    assert parse_options({"api_key": "whatever", "x": "y"}, config) == StreamOptions(
        "text", 42, None
    )


def test_frames_per_second_is_kept(config: Settings) -> None:
    assert parse_options({"frames_per_second": "60"}, config).frames_per_second == 60
    assert parse_options({}, config).frames_per_second is None


@pytest.mark.parametrize("raw", ["0", "1001", "-1", "sixty", "1e3", *BAD_NUMBERS.values()])
def test_bad_frames_per_second_is_refused(config: Settings, raw: str) -> None:
    with pytest.raises(BadQuery, match="frames_per_second must be a whole number"):
        parse_options({"frames_per_second": raw}, config)


def test_bad_query_is_a_value_error() -> None:
    assert issubclass(BadQuery, ValueError)


def test_max_seq_is_exact_in_a_javascript_number() -> None:
    assert float(MAX_SEQ) == MAX_SEQ and float(MAX_SEQ + 1) == float(MAX_SEQ + 2)


def is_plain_number(raw: str) -> bool:
    return raw.isascii() and raw.isdigit() and len(raw) <= 16 and int(raw) <= MAX_SEQ


@PROPERTY
@given(raw=st.text(max_size=25) | st.from_regex(r"\A[0-9]{1,20}\Z"))
def test_any_value_is_a_plain_ascii_number_or_refused(config: Settings, raw: str) -> None:
    try:
        options = parse_options({"after": raw, "history_lines": raw}, config)
    except BadQuery:
        assert not is_plain_number(raw)
        return
    assert is_plain_number(raw)
    assert options.after == options.history_lines == int(raw)
