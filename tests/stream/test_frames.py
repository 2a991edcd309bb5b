"""Frames built once: the bytes equal what websockets itself would send, and clients at the
same place share them."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode

from vsmanager.console.buffer import ConsoleBuffer
from vsmanager.console.feed import ConsoleFeed
from vsmanager.stream.frames import SharedFrames, json_frames, text_frame, text_frames


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65_535, 65_536, 300_000])
def test_text_frame_is_what_websockets_sends(size: int) -> None:
    payload = ("é" if size % 2 else "x") * size
    expected = Frame(Opcode.TEXT, payload.encode()).serialize(mask=False, extensions=[])
    assert text_frame(payload) == expected


def test_text_frames_mark_commands_and_end_at_the_last_line() -> None:
    buffer = ConsoleBuffer(100, 1 << 20)
    buffer.append("stdout", "one")
    buffer.append("command", "/help")
    gap, frames, count, end = text_frames(ConsoleFeed(buffer), 0, 10, 1 << 20)
    assert (gap, count, end) == (None, 2, 2)
    assert frames == text_frame("one") + text_frame("[CMD] /help")  # one write


def test_text_frames_report_the_gap_a_far_behind_client_missed() -> None:
    buffer = ConsoleBuffer(10, 1 << 20)
    for i in range(15):
        buffer.append("stdout", f"line {i}")
    gap, frames, count, end = text_frames(ConsoleFeed(buffer), 2, 3, 1 << 20)
    assert gap is not None and (gap.from_seq, gap.to_seq) == (3, 5)
    assert (count, end) == (3, 8)
    assert frames.startswith(text_frame("line 5"))


def test_json_frames_are_one_lines_frame_after_the_gap() -> None:
    feed = ConsoleFeed(ConsoleBuffer(10, 1 << 20))
    for i in range(15):
        feed.publish("stdout", f"line {i}")
    gap, frame, count, end = json_frames(feed, 2, 3, 1 << 20)
    assert gap is not None and (gap.from_seq, gap.to_seq) == (3, 5)
    assert (count, end) == (3, 8)
    assert frame == text_frame(feed.json_batch(2, 3, 1 << 20).frame)  # one frame, one write
    assert json_frames(feed, 15, 3, 1 << 20) == (None, b"", 0, 15)  # caught up: nothing


def test_shared_frames_build_once_per_newest_line() -> None:
    shared = SharedFrames()
    built: list[int] = []

    def build() -> bytes:
        built.append(1)
        return b"frame"

    assert shared.get(7, ("json", 3), build) == b"frame"
    assert shared.get(7, ("json", 3), build) == b"frame"
    assert len(built) == 1  # the second client in step reused the bytes
    shared.get(8, ("json", 3), build)  # a new line: built afresh
    assert len(built) == 2
