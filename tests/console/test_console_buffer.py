"""ConsoleBuffer, ConsoleLine and Gap: the ring of numbered lines, against a plain model."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vsmanager.console.buffer import (
    LINE_OVERHEAD_BYTES,
    STREAMS,
    ConsoleBuffer,
    ConsoleLine,
    Gap,
    Stream,
    utc_timestamp,
)

PROPERTY = settings(max_examples=300, deadline=None, database=None)
TS = "2025-01-01T00:00:00.000000Z"


def filled(count: int, max_lines: int = 1000, max_bytes: int = 10**9) -> ConsoleBuffer:
    buffer = ConsoleBuffer(max_lines, max_bytes)
    for n in range(1, count + 1):
        buffer.append("stdout", f"line {n}", TS)
    return buffer


def seqs(lines: list[ConsoleLine]) -> list[int]:
    return [line.seq for line in lines]


def cost(text: str) -> int:
    return sys.getsizeof(text) + LINE_OVERHEAD_BYTES


# -- seq, first_seq, last_seq -------------------------------------------------------------


def test_empty_buffer_has_last_seq_zero_and_first_seq_one() -> None:
    buffer = ConsoleBuffer(10, 10_000)
    assert (buffer.first_seq, buffer.last_seq, len(buffer)) == (1, 0, 0)


def test_seq_starts_at_one_and_grows_by_one() -> None:
    buffer = ConsoleBuffer(10, 10_000)
    assert [buffer.append("stdout", str(n)).seq for n in range(5)] == [1, 2, 3, 4, 5]


def test_seq_never_resets_when_lines_are_evicted() -> None:
    buffer = filled(25, max_lines=3)
    assert buffer.append("stdout", "next").seq == 26
    assert (buffer.first_seq, buffer.last_seq, len(buffer)) == (24, 26, 3)


def test_first_and_last_seq_span_the_held_lines() -> None:
    buffer = filled(7, max_lines=4)
    assert seqs(buffer.tail(100)) == list(range(buffer.first_seq, buffer.last_seq + 1))


def test_append_returns_the_stored_line() -> None:
    buffer = ConsoleBuffer(10, 10_000)
    line = buffer.append("stderr", "oops", TS)
    assert line == ConsoleLine(1, TS, "stderr", "oops")
    assert buffer.tail(1) == [line]


def test_append_stamps_the_receive_time_in_utc() -> None:
    line = ConsoleBuffer(10, 10_000).append("system", "hello")
    assert line.ts.endswith("Z")
    assert datetime.fromisoformat(line.ts).utcoffset() is not None


def test_utc_timestamp_is_iso8601_with_microseconds_and_z() -> None:
    stamp = utc_timestamp()
    assert stamp.endswith("Z") and len(stamp) == len(TS)
    assert datetime.fromisoformat(stamp).utcoffset().total_seconds() == 0  # type: ignore[union-attr]


@given(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False))
def test_utc_timestamp_matches_datetime_to_the_microsecond(now: float) -> None:
    expected = datetime.fromtimestamp(now, UTC)
    stamp = datetime.fromisoformat(utc_timestamp(now))
    # datetime rounds to the nearest microsecond, the timestamp truncates: at most 1 us apart.
    assert abs((stamp - expected).total_seconds()) <= 1e-6


def test_buffer_without_room_for_a_line_is_refused() -> None:
    with pytest.raises(ValueError):
        ConsoleBuffer(0, 10_000)
    with pytest.raises(ValueError):
        ConsoleBuffer(10, 0)


# -- bounds -------------------------------------------------------------------------------


def test_line_bound_evicts_the_oldest_lines() -> None:
    buffer = filled(10, max_lines=3)
    assert [line.text for line in buffer.tail(10)] == ["line 8", "line 9", "line 10"]


def test_byte_bound_evicts_the_oldest_lines() -> None:
    buffer = ConsoleBuffer(1000, 3 * cost("x" * 10))
    for n in range(4):
        buffer.append("stdout", f"{n}" * 10, TS)
    assert [line.text for line in buffer.tail(10)] == ["1" * 10, "2" * 10, "3" * 10]
    assert buffer.bytes_used == 3 * cost("x" * 10)


def test_byte_cost_is_the_texts_memory_plus_overhead() -> None:
    buffer = ConsoleBuffer(10, 10_000)
    buffer.append("stdout", "abc", TS)
    buffer.append("stdout", "日本", TS)
    assert buffer.bytes_used == cost("abc") + cost("日本")
    assert ConsoleLine(1, TS, "stdout", "abc").cost == sys.getsizeof("abc") + LINE_OVERHEAD_BYTES


@pytest.mark.parametrize(("char", "width"), [("a", 1), ("é", 1), ("ж", 2), ("日", 2), ("😀", 4)],
                         ids=["ascii", "latin-1", "cyrillic", "cjk", "emoji"])
def test_byte_cost_counts_how_wide_cpython_stores_the_text(char: str, width: int) -> None:
    # One wide character makes the whole string wide: 1,000 "a" and one emoji take 4 KB.
    text = "a" * 1000 + char
    assert cost(text) - cost("a" * 1000) >= 1000 * (width - 1)
    assert ConsoleLine(1, TS, "stdout", text).cost == cost(text)


def test_encoding_a_lines_json_counts_it_against_the_bound() -> None:
    buffer = ConsoleBuffer(1000, 10_000)
    lines = [buffer.append("stdout", f"line {n}", TS) for n in range(3)]
    before = buffer.bytes_used
    body = buffer.encode(lines)
    assert json.loads(f"[{body}]") == [line.as_dict() for line in lines]
    assert buffer.bytes_used == before + sum(sys.getsizeof(line.json) for line in lines)
    assert buffer.bytes_used == sum(line.cost for line in lines)
    buffer.encode(lines)  # encoded once, counted once
    assert buffer.bytes_used == sum(line.cost for line in lines)


def test_encoding_evicts_the_oldest_lines_to_stay_within_the_bound() -> None:
    buffer = ConsoleBuffer(1000, 4 * cost("x" * 100))
    lines = [buffer.append("stdout", "x" * 100, TS) for _ in range(4)]
    buffer.encode(lines[2:])
    assert buffer.bytes_used <= buffer.max_bytes
    assert buffer.first_seq > 1
    assert buffer.bytes_used == sum(line.cost for line in buffer.tail(10))


def test_evicted_lines_are_not_counted_when_encoded_later() -> None:
    buffer = ConsoleBuffer(2, 100_000)
    first = buffer.append("stdout", "a", TS)
    buffer.append("stdout", "b", TS)
    buffer.append("stdout", "c", TS)
    buffer.encode([first])
    assert buffer.bytes_used == 2 * cost("b")


def test_a_long_line_evicts_as_many_short_ones_as_it_needs() -> None:
    buffer = ConsoleBuffer(1000, 4 * cost("x"))
    for _ in range(4):
        buffer.append("stdout", "x", TS)
    # Costs as much as two short lines: two go, two stay.
    long = buffer.append("stdout", "y" * (cost("x") * 2 - cost("")), TS)
    assert seqs(buffer.tail(10)) == [3, 4, long.seq]
    assert buffer.bytes_used <= buffer.max_bytes


def test_a_line_larger_than_the_byte_bound_is_still_kept_alone() -> None:
    buffer = ConsoleBuffer(10, 300)
    buffer.append("stdout", "small", TS)
    big = buffer.append("stdout", "z" * 500, TS)
    assert buffer.tail(10) == [big]
    assert buffer.first_seq == buffer.last_seq == 2


def test_bytes_used_falls_when_lines_are_evicted() -> None:
    buffer = ConsoleBuffer(2, 10_000)
    buffer.append("stdout", "a" * 100, TS)
    buffer.append("stdout", "b", TS)
    buffer.append("stdout", "c", TS)
    assert buffer.bytes_used == 2 * cost("b")


# -- read_after ---------------------------------------------------------------------------


def test_read_after_returns_lines_after_seq_oldest_first() -> None:
    batch = filled(10).read_after(6, 100)
    assert seqs(batch.lines) == [7, 8, 9, 10]
    assert batch.gap is None


def test_read_after_zero_returns_everything_on_a_fresh_buffer() -> None:
    assert seqs(filled(3).read_after(0, 100).lines) == [1, 2, 3]


def test_read_after_respects_the_limit() -> None:
    assert seqs(filled(10).read_after(2, 3).lines) == [3, 4, 5]


def test_read_after_with_zero_or_negative_limit_returns_no_lines() -> None:
    buffer = filled(5)
    assert buffer.read_after(0, 0).lines == []
    assert buffer.read_after(0, -3).lines == []


def test_read_after_the_newest_seq_returns_nothing() -> None:
    batch = filled(5).read_after(5, 100)
    assert (batch.lines, batch.gap) == ([], None)


def test_read_after_a_future_seq_returns_nothing() -> None:
    batch = filled(5).read_after(1_000_000, 100)
    assert (batch.lines, batch.gap) == ([], None)


def test_read_after_on_an_empty_buffer_returns_nothing() -> None:
    batch = ConsoleBuffer(10, 10_000).read_after(0, 100)
    assert (batch.lines, batch.gap) == ([], None)


def test_read_after_reports_the_evicted_lines_as_a_gap() -> None:
    buffer = filled(10, max_lines=4)  # holds 7..10
    batch = buffer.read_after(2, 100)
    assert batch.gap == Gap(3, 6)
    assert batch.gap.count == 4
    assert seqs(batch.lines) == [7, 8, 9, 10]


def test_read_after_just_before_the_oldest_line_has_no_gap() -> None:
    batch = filled(10, max_lines=4).read_after(6, 100)
    assert batch.gap is None
    assert seqs(batch.lines) == [7, 8, 9, 10]


def test_read_after_zero_after_eviction_gaps_from_seq_one() -> None:
    batch = filled(10, max_lines=4).read_after(0, 2)
    assert batch.gap == Gap(1, 6)
    assert seqs(batch.lines) == [7, 8]


def test_read_after_a_negative_seq_reports_no_gap_before_seq_one() -> None:
    buffer = filled(3)
    batch = buffer.read_after(-5, 100)
    assert batch.gap is None
    assert seqs(batch.lines) == [1, 2, 3]
    assert filled(10, max_lines=4).read_after(-5, 100).gap == Gap(1, 6)


def test_read_after_costs_what_it_returns() -> None:
    buffer = filled(5000, max_lines=5000)
    batch = buffer.read_after(4990, 100)
    assert seqs(batch.lines) == list(range(4991, 5001))


def test_gap_count_includes_both_ends() -> None:
    assert Gap(5, 5).count == 1
    assert Gap(3, 6).count == 4


# -- tail ---------------------------------------------------------------------------------


def test_tail_returns_the_newest_lines_oldest_first() -> None:
    assert seqs(filled(10).tail(3)) == [8, 9, 10]


def test_tail_larger_than_the_buffer_returns_everything_held() -> None:
    assert seqs(filled(5, max_lines=3).tail(100)) == [3, 4, 5]


def test_tail_of_zero_or_negative_returns_nothing() -> None:
    buffer = filled(5)
    assert buffer.tail(0) == []
    assert buffer.tail(-1) == []


def test_tail_of_an_empty_buffer_returns_nothing() -> None:
    assert ConsoleBuffer(10, 10_000).tail(5) == []


# -- wrap-around --------------------------------------------------------------------------


def test_ring_reads_across_the_wrap_point() -> None:
    buffer = filled(7, max_lines=5)  # slots hold 6,7 | 3,4,5: the oldest is mid-array
    assert seqs(buffer.tail(5)) == [3, 4, 5, 6, 7]
    assert seqs(buffer.read_after(3, 3).lines) == [4, 5, 6]
    assert seqs(buffer.read_after(4, 100).lines) == [5, 6, 7]


@pytest.mark.parametrize("count", range(1, 16), ids=lambda n: f"{n}-lines")
def test_ring_holds_the_newest_lines_after_any_number_of_appends(count: int) -> None:
    buffer = filled(count, max_lines=4)
    expected = list(range(max(1, count - 3), count + 1))
    assert seqs(buffer.tail(4)) == expected
    assert seqs(buffer.read_after(buffer.first_seq - 1, 4).lines) == expected


def test_single_slot_ring_holds_the_newest_line() -> None:
    buffer = filled(3, max_lines=1)
    assert [line.text for line in buffer.tail(5)] == ["line 3"]
    assert buffer.read_after(1, 5).gap == Gap(2, 2)


# -- ConsoleLine --------------------------------------------------------------------------


def test_line_json_has_seq_ts_stream_and_text() -> None:
    line = ConsoleLine(7, TS, "stdout", "Hello")
    assert json.loads(line.json) == {"seq": 7, "ts": TS, "stream": "stdout", "text": "Hello"}


def test_line_json_keeps_unicode_and_escapes_control_characters() -> None:
    line = ConsoleLine(1, TS, "stdout", 'é 😀 "q" \x00\x1b')
    assert "é 😀" in line.json
    assert json.loads(line.json)["text"] == 'é 😀 "q" \x00\x1b'
    assert "\x00" not in line.json and "\x1b" not in line.json


def test_line_json_is_encoded_once() -> None:
    line = ConsoleLine(1, TS, "stdout", "x")
    assert line.json is line.json


def test_line_json_does_not_affect_equality() -> None:
    encoded = ConsoleLine(1, TS, "stdout", "x")
    _ = encoded.json
    assert encoded == ConsoleLine(1, TS, "stdout", "x")


def test_command_line_text_form_is_prefixed_with_cmd() -> None:
    line = ConsoleLine(1, TS, "command", "/help")
    assert line.as_text() == "[CMD] /help"
    assert json.loads(line.json)["text"] == "/help"


@pytest.mark.parametrize("stream", ["stdout", "stderr", "system"])
def test_other_lines_text_form_is_the_bare_text(stream: Stream) -> None:
    assert ConsoleLine(1, TS, stream, "/help").as_text() == "/help"


def test_line_as_dict_matches_its_json() -> None:
    line = ConsoleLine(3, TS, "system", "server started (pid 1)")
    assert json.loads(line.json) == line.as_dict()


# -- against a model ----------------------------------------------------------------------


@dataclass
class Model:
    """Every line ever appended; the buffer must hold the longest suffix within both bounds."""

    max_lines: int
    max_bytes: int
    texts: list[str] = field(default_factory=list)

    def held(self) -> list[int]:
        kept: list[int] = []
        used = 0
        for seq in range(len(self.texts), 0, -1):
            line_cost = cost(self.texts[seq - 1])
            if kept and (len(kept) == self.max_lines or used + line_cost > self.max_bytes):
                break
            kept.insert(0, seq)
            used += line_cost
        return kept

    def read_after(self, seq: int, limit: int) -> tuple[list[int], Gap | None]:
        held = self.held()
        first = held[0] if held else len(self.texts) + 1
        missed = range(max(seq + 1, 1), first)
        gap = Gap(missed[0], missed[-1]) if missed else None
        return [s for s in held if s > seq][: max(limit, 0)], gap


APPEND = st.tuples(st.just("append"), st.sampled_from(STREAMS), st.text(max_size=120))
READ = st.tuples(st.just("read"), st.integers(-3, 60), st.integers(-1, 12))
TAIL = st.tuples(st.just("tail"), st.integers(-1, 12))
OPERATIONS = st.lists(st.one_of(APPEND, APPEND, READ, TAIL), max_size=60)


@PROPERTY
@given(
    max_lines=st.integers(1, 8),
    max_bytes=st.integers(1, 4 * (LINE_OVERHEAD_BYTES + 60)),
    operations=OPERATIONS,
)
def test_buffer_matches_a_list_of_all_lines_trimmed(
    max_lines: int, max_bytes: int, operations: list[tuple[object, ...]]
) -> None:
    buffer = ConsoleBuffer(max_lines, max_bytes)
    model = Model(max_lines, max_bytes)
    for operation in operations:
        match operation:
            case ("append", stream, str(text)):
                line = buffer.append(stream, text, TS)  # type: ignore[arg-type]
                model.texts.append(text)
                assert (line.seq, line.stream, line.text) == (len(model.texts), stream, text)
            case ("read", int(seq), int(limit)):
                batch = buffer.read_after(seq, limit)
                assert (seqs(batch.lines), batch.gap) == model.read_after(seq, limit)
            case ("tail", int(n)):
                held = model.held()
                assert seqs(buffer.tail(n)) == (held[max(len(held) - n, 0) :] if n > 0 else [])
        held = model.held()
        assert seqs(buffer.tail(max_lines)) == held
        assert len(buffer) == len(held)
        assert buffer.last_seq == len(model.texts)
        assert buffer.first_seq == (held[0] if held else buffer.last_seq + 1)
        assert buffer.bytes_used == sum(cost(model.texts[s - 1]) for s in held)
        assert [line.text for line in buffer.tail(max_lines)] == [model.texts[s - 1] for s in held]


@PROPERTY
@given(max_lines=st.integers(1, 6), appends=st.integers(0, 30), seq=st.integers(-2, 35))
def test_reading_in_pages_gets_every_held_line_once(max_lines: int, appends: int, seq: int) -> None:
    buffer = filled(appends, max_lines=max_lines)
    got: list[int] = []
    cursor = seq
    while True:
        batch = buffer.read_after(cursor, 2)
        if batch.gap is not None:
            assert batch.gap.from_seq == max(cursor + 1, 1)
            cursor = batch.gap.to_seq
        if not batch.lines:
            break
        got += seqs(batch.lines)
        cursor = got[-1]
    assert got == [s for s in range(buffer.first_seq, buffer.last_seq + 1) if s > seq]


def test_read_after_stops_before_passing_the_text_bound() -> None:
    buffer = ConsoleBuffer(max_lines=100, max_bytes=10_000_000)
    for _ in range(10):
        buffer.append("stdout", "x" * 100)
    lines = buffer.read_after(0, 100, max_text=350).lines
    assert [line.seq for line in lines] == [1, 2, 3]


def test_read_after_returns_one_line_even_if_it_alone_passes_the_text_bound() -> None:
    buffer = ConsoleBuffer(max_lines=100, max_bytes=10_000_000)
    buffer.append("stdout", "x" * 1000)
    buffer.append("stdout", "y")
    assert [line.seq for line in buffer.read_after(0, 100, max_text=10).lines] == [1]


@PROPERTY
@given(text=st.text(), by=st.none() | st.text(max_size=20), stream=st.sampled_from(STREAMS),
       seq=st.integers(1, 2**53 - 1))
def test_line_json_is_exactly_what_json_dumps_writes(text: str, by: str | None, stream: Stream,
                                                      seq: int) -> None:
    # Put together without the encoder's Python layers: byte for byte the same, whatever the
    # text (quotes, backslashes, control characters, lone surrogates, any script).
    line = ConsoleLine(seq, TS, stream, text, by)
    assert line.json == json.dumps(line.as_dict(), ensure_ascii=False, separators=(",", ":"))


def test_utc_timestamp_of_now_is_now_across_second_boundaries() -> None:
    # The second's prefix is cached: a stamp taken after a stamp of another second (an
    # explicit time) still names the current second.
    for _ in range(3):
        utc_timestamp(1_000_000_000.5)
        before = datetime.now(UTC)
        stamp = datetime.fromisoformat(utc_timestamp())
        after = datetime.now(UTC)
        assert before - timedelta(microseconds=1) <= stamp <= after
