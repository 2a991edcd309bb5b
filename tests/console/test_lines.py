"""LineSplitter: bytes from a pipe to text lines, whatever the chunking or the content."""

from __future__ import annotations

import re
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vsmanager.console.lines import LineSplitter

# No example database: nothing is written into the working tree.
PROPERTY = settings(max_examples=300, deadline=None, database=None)

MIB = 1024 * 1024


def split_all(data: bytes, max_line_bytes: int = 1024) -> list[str]:
    splitter = LineSplitter(max_line_bytes)
    return splitter.feed(data) + splitter.flush()


def split_chunks(chunks: list[bytes], max_line_bytes: int = 1024) -> list[str]:
    splitter = LineSplitter(max_line_bytes)
    lines: list[str] = []
    for chunk in chunks:
        lines += splitter.feed(chunk)
    return lines + splitter.flush()


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(min(c, len(data)) for c in cuts)})
    return [data[a:b] for a, b in pairwise(points)]


def model(data: bytes, max_line_bytes: int) -> list[str]:
    """What the splitter should return for all of ``data`` then ``flush()``, written plainly."""
    *ended, rest = re.split(rb"\r\n|\r|\n", data)
    lines: list[str] = []
    for raw in ended + ([rest] if rest else []):
        while len(raw) > max_line_bytes:
            # Cut before the character that straddles the limit: back over at most three
            # continuation bytes (a longer run is invalid UTF-8 and is cut anywhere).
            cut = next(
                (c for c in range(max_line_bytes, max_line_bytes - 3, -1) if raw[c] & 0xC0 != 0x80),
                max_line_bytes - 3,
            )
            lines.append(raw[:cut].decode("utf-8", "replace"))
            raw = raw[cut:]
        lines.append(raw.decode("utf-8", "replace"))
    return lines


# Bytes rich in what matters: line ends, multi-byte characters, broken sequences, NUL.
TRICKY_BYTES = st.lists(
    st.sampled_from(
        [
            b"a",
            b"bc",
            b"\n",
            b"\r",
            b"\r\n",
            b"\n\r",
            b"\x00",
            "é".encode(),
            "€".encode(),
            "😀".encode(),
            b"\xff",
            b"\x80",
            b"\xe2\x82",
            b"\xf0\x9f",
            b"\x80\x80\x80\x80",
            b"\xf0\x9f\x98\x80\x80",
        ]
    ),
    max_size=60,
).map(b"".join)

ANY_BYTES = st.one_of(TRICKY_BYTES, st.binary(max_size=200))


@st.composite
def chunkings(draw: st.DrawFn, data: st.SearchStrategy[bytes] = ANY_BYTES) -> list[bytes]:
    """Some bytes, cut into chunks anywhere (between a CR and its LF too)."""
    raw = draw(data)
    return chunked(raw, draw(st.lists(st.integers(0, len(raw)), max_size=len(raw) + 1)))


LINE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
    max_size=40,
)


# -- line ends ----------------------------------------------------------------------------


def test_newline_ends_a_line() -> None:
    assert split_all(b"one\ntwo\n") == ["one", "two"]


def test_crlf_ends_a_line_once() -> None:
    assert split_all(b"one\r\ntwo\r\n") == ["one", "two"]


def test_lone_cr_ends_a_line() -> None:
    assert split_all(b"10%\r20%\rdone\n") == ["10%", "20%", "done"]


def test_lf_cr_is_two_line_ends() -> None:
    assert split_all(b"a\n\rb\n") == ["a", "", "b"]


def test_crlf_split_across_chunks_ends_one_line() -> None:
    splitter = LineSplitter(1024)
    assert splitter.feed(b"one\r") == ["one"]
    assert splitter.feed(b"\ntwo\n") == ["two"]


def test_crlf_split_across_chunks_survives_an_empty_chunk() -> None:
    splitter = LineSplitter(1024)
    assert splitter.feed(b"one\r") == ["one"]
    assert splitter.feed(b"") == []
    assert splitter.feed(b"\ntwo\n") == ["two"]


def test_cr_at_chunk_end_then_text_starts_a_new_line() -> None:
    splitter = LineSplitter(1024)
    assert splitter.feed(b"one\r") == ["one"]
    assert splitter.feed(b"two\n") == ["two"]


def test_cr_at_chunk_end_then_cr_gives_an_empty_line() -> None:
    splitter = LineSplitter(1024)
    assert splitter.feed(b"one\r") == ["one"]
    assert splitter.feed(b"\r\n") == [""]


def test_empty_lines_are_preserved() -> None:
    assert split_all(b"\n\na\n\n") == ["", "", "a", ""]


def test_crlf_empty_lines_are_preserved() -> None:
    assert split_all(b"\r\n\r\n") == ["", ""]


def test_one_byte_chunks_give_the_same_lines() -> None:
    data = b"a\r\nb\rc\n\r\n\xe2\x82\xac\n"
    assert split_chunks([bytes([b]) for b in data]) == ["a", "b", "c", "", "€"]


# -- pending and flush --------------------------------------------------------------------


def test_partial_line_stays_pending_until_flush() -> None:
    splitter = LineSplitter(1024)
    assert splitter.feed(b"> ") == []
    assert splitter.has_pending
    assert splitter.flush() == ["> "]
    assert not splitter.has_pending


def test_partial_line_is_completed_by_later_chunks() -> None:
    splitter = LineSplitter(1024)
    assert splitter.feed(b"hel") == []
    assert splitter.feed(b"lo\nwor") == ["hello"]
    assert splitter.flush() == ["wor"]


def test_flush_with_nothing_pending_returns_nothing() -> None:
    splitter = LineSplitter(1024)
    assert splitter.flush() == []
    splitter.feed(b"done\n")
    assert not splitter.has_pending
    assert splitter.flush() == []


def test_flush_keeps_a_partial_multibyte_character_as_replacement() -> None:
    splitter = LineSplitter(1024)
    splitter.feed(b"x\xe2\x82")
    assert splitter.flush() == ["x\ufffd"]


# -- content ------------------------------------------------------------------------------


def test_invalid_utf8_becomes_replacement_character() -> None:
    assert split_all(b"bad \xff\xfe byte\n") == ["bad \ufffd\ufffd byte"]


def test_truncated_sequence_inside_a_line_becomes_replacement() -> None:
    assert split_all(b"a\xe2\x82b\n") == ["a\ufffdb"]


def test_nul_bytes_are_kept() -> None:
    assert split_all(b"a\x00b\x00\n") == ["a\x00b\x00"]


def test_utf8_character_split_across_chunks_is_decoded_whole() -> None:
    euro = "€".encode()
    assert split_chunks([b"price " + euro[:1], euro[1:2], euro[2:] + b"\n"]) == ["price €"]


def test_max_line_bytes_below_four_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 4"):
        LineSplitter(3)


# -- long lines ---------------------------------------------------------------------------


def test_line_of_exactly_max_bytes_is_not_split() -> None:
    assert split_all(b"abcd\n", max_line_bytes=4) == ["abcd"]


def test_line_one_byte_over_max_is_split_in_two() -> None:
    assert split_all(b"abcde\n", max_line_bytes=4) == ["abcd", "e"]


def test_long_line_is_split_into_pieces_of_at_most_max_bytes() -> None:
    assert split_all(b"a" * 10 + b"\n", max_line_bytes=4) == ["aaaa", "aaaa", "aa"]


def test_long_line_is_split_at_a_utf8_boundary() -> None:
    # "ab" + U+20AC (3 bytes) would be 5 bytes: the euro sign moves whole to the next piece.
    assert split_all("ab€€\n".encode(), max_line_bytes=4) == ["ab", "€", "€"]


def test_four_byte_characters_are_never_broken() -> None:
    text = "x" + "😀" * 5
    pieces = split_all(text.encode() + b"\n", max_line_bytes=6)
    assert "".join(pieces) == text
    assert all(len(p.encode()) <= 6 for p in pieces)
    assert "\ufffd" not in "".join(pieces)


def test_long_line_split_across_chunks_matches_one_chunk() -> None:
    data = ("é" * 50 + "\n").encode()
    assert split_chunks(chunked(data, [1, 7, 33, 34, 99])) == split_all(data, 1024)
    assert split_chunks(chunked(data, [1, 7, 33, 34, 99]), 9) == split_all(data, 9)


def test_long_invalid_utf8_line_is_split_and_fully_replaced() -> None:
    pieces = split_all(b"\x80" * 100 + b"\n", max_line_bytes=16)
    assert "".join(pieces) == "\ufffd" * 100
    # A run of continuation bytes is no character: cut at most three bytes early.
    assert all(13 <= len(p) <= 16 for p in pieces[:-1])


def test_one_mib_line_is_captured_whole_in_pieces() -> None:
    max_bytes = 16 * 1024
    data = bytes(range(ord("a"), ord("z") + 1)) * (MIB // 26 + 1)
    data = data[:MIB]
    splitter = LineSplitter(max_bytes)
    pieces: list[str] = []
    for start in range(0, len(data), 64 * 1024):
        pieces += splitter.feed(data[start : start + 64 * 1024])
    pieces += splitter.feed(b"\nafter\n")
    assert pieces[-1] == "after"
    body = pieces[:-1]
    assert len(body) == MIB // max_bytes
    assert all(len(p) == max_bytes for p in body)
    assert "".join(body).encode() == data


def test_one_mib_multibyte_line_keeps_every_character() -> None:
    text = "日本語" * (MIB // 9)
    pieces = split_all(text.encode() + b"\n", max_line_bytes=16 * 1024)
    assert "".join(pieces) == text
    assert all(len(p.encode()) <= 16 * 1024 for p in pieces)


def test_capture_continues_after_a_long_line() -> None:
    splitter = LineSplitter(64)
    splitter.feed(b"x" * 10_000)
    assert splitter.feed(b"\nnext line\n")[-1] == "next line"


# -- properties ---------------------------------------------------------------------------


@PROPERTY
@given(chunks=chunkings(), max_line_bytes=st.integers(min_value=4, max_value=12))
def test_chunking_never_changes_the_lines(chunks: list[bytes], max_line_bytes: int) -> None:
    data = b"".join(chunks)
    assert split_chunks(chunks, max_line_bytes) == split_all(data, max_line_bytes)


@PROPERTY
@given(chunks=chunkings())
def test_empty_chunks_never_change_the_lines(chunks: list[bytes]) -> None:
    padded = [piece for chunk in chunks for piece in (b"", chunk, b"")]
    assert split_chunks(padded, 8) == split_all(b"".join(chunks), 8)


@PROPERTY
@given(data=ANY_BYTES, max_line_bytes=st.integers(min_value=4, max_value=12))
def test_lines_match_a_plain_model(data: bytes, max_line_bytes: int) -> None:
    assert split_all(data, max_line_bytes) == model(data, max_line_bytes)


@PROPERTY
@given(chunks=chunkings())
def test_lines_never_contain_line_ends(chunks: list[bytes]) -> None:
    for line in split_chunks(chunks, 8):
        assert "\n" not in line and "\r" not in line


@PROPERTY
@given(chunks=chunkings(LINE_TEXT.map(str.encode)), max_line_bytes=st.integers(4, 16))
def test_valid_text_pieces_join_back_to_the_text(chunks: list[bytes], max_line_bytes: int) -> None:
    text = b"".join(chunks).decode()
    pieces = split_chunks(chunks, max_line_bytes)
    assert "".join(pieces) == text
    assert all(0 < len(p.encode()) <= max_line_bytes for p in pieces)


@PROPERTY
@given(
    lines=st.lists(LINE_TEXT, max_size=8),
    max_line_bytes=st.integers(min_value=4, max_value=16),
    cuts=st.lists(st.integers(0, 400), max_size=30),
)
def test_valid_text_pieces_never_span_two_lines(
    lines: list[str], max_line_bytes: int, cuts: list[int]
) -> None:
    data = "".join(line + "\n" for line in lines).encode()
    pieces = iter(split_chunks(chunked(data, cuts), max_line_bytes))
    for line in lines:
        joined = next(pieces)
        while len(joined) < len(line):
            joined += next(pieces)
        assert joined == line
    assert list(pieces) == []
