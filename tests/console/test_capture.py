"""Pipe capture: chunks become lines at once, partial lines wait for silence or EOF.

These drive PipeCapture with chunks in a real event loop; the supervisor tests run it
against real child processes.
"""

from __future__ import annotations

import asyncio

from harness import TIME_SCALE
from vsmanager.console.buffer import ConsoleBuffer, Stream
from vsmanager.console.capture import PipeCapture
from vsmanager.console.feed import ConsoleFeed

FLUSH_AFTER_S = 0.05


class Sink:
    def __init__(self) -> None:
        self.lines: list[tuple[Stream, str]] = []

    def __call__(self, stream: Stream, text: str) -> None:
        self.lines.append((stream, text))

    def texts(self) -> list[str]:
        return [text for _, text in self.lines]


def capture_into(sink: Sink, stream: Stream = "stdout", max_line_bytes: int = 1024) -> PipeCapture:
    return PipeCapture(stream, sink, max_line_bytes, FLUSH_AFTER_S, asyncio.get_running_loop())


async def test_complete_lines_are_published_before_the_chunk_callback_returns() -> None:
    sink = Sink()
    capture = capture_into(sink, "stderr")
    capture.data(b"one\ntwo\r\nthree\n")
    assert sink.lines == [("stderr", "one"), ("stderr", "two"), ("stderr", "three")]


async def test_a_line_split_across_chunks_is_published_once_whole() -> None:
    sink = Sink()
    capture = capture_into(sink)
    capture.data(b"Dedicated Server now ")
    capture.data(b"running on Port 42420\n")
    assert sink.texts() == ["Dedicated Server now running on Port 42420"]
    await asyncio.sleep(2 * FLUSH_AFTER_S)  # the cancelled flush must not fire later
    assert sink.texts() == ["Dedicated Server now running on Port 42420"]


async def test_a_prompt_without_newline_is_published_after_silence() -> None:
    sink = Sink()
    capture = capture_into(sink)
    capture.data(b"> ")
    assert sink.texts() == []
    await asyncio.sleep(FLUSH_AFTER_S + 0.5 * TIME_SCALE)
    assert sink.texts() == ["> "]


async def test_more_bytes_before_the_silence_ends_restart_the_wait() -> None:
    sink = Sink()
    # A silence ten times the pause: a busy machine's late wake-up (25 ms became 50) once
    # flushed "Saving" on its own.
    flush_after = 10 * FLUSH_AFTER_S
    capture = PipeCapture("stdout", sink, 1024, flush_after, asyncio.get_running_loop())
    capture.data(b"Saving")
    await asyncio.sleep(FLUSH_AFTER_S)
    capture.data(b"... done\n")
    assert sink.texts() == ["Saving... done"]
    await asyncio.sleep(flush_after + FLUSH_AFTER_S)  # and the first wait does not fire later
    assert sink.texts() == ["Saving... done"]


async def test_eof_publishes_the_last_partial_line_and_closes() -> None:
    sink = Sink()
    capture = capture_into(sink)
    capture.data(b"Stopped the server!")
    capture.eof()
    assert sink.texts() == ["Stopped the server!"]
    assert capture.closed.done()
    capture.eof()  # a second EOF (the pipe's close after an abandon) changes nothing
    assert sink.texts() == ["Stopped the server!"]


async def test_an_abandoned_pipe_publishes_nothing_more() -> None:
    sink = Sink()
    capture = capture_into(sink)
    capture.data(b"kept\npartial")
    capture.abandon()
    capture.data(b" more\nignored\n")
    capture.eof()
    await asyncio.sleep(2 * FLUSH_AFTER_S)
    assert sink.texts() == ["kept"]
    assert capture.closed.done()


async def test_a_long_line_is_cut_and_nothing_stops_capture() -> None:
    sink = Sink()
    capture = capture_into(sink, max_line_bytes=16)
    capture.data(b"x" * 40 + b"\n\xff\x00ok\n")
    assert sink.texts() == ["x" * 16, "x" * 16, "x" * 8, "\ufffd\x00ok"]


async def test_a_chunks_lines_reach_caught_up_readers_in_the_same_callback() -> None:
    # The feed's listeners (the broadcast that writes caught-up clients) are called once, with
    # every line of the chunk in the buffer, before the chunk's callback returns: no turn of
    # the loop between the game's line and a caught-up client's write.
    feed = ConsoleFeed(ConsoleBuffer(100, 1 << 20))
    seen: list[int] = []
    feed.listen(lambda: seen.append(feed.buffer.last_seq), asyncio.get_running_loop())
    capture = PipeCapture("stdout", feed.publish, 1024, FLUSH_AFTER_S,
                          asyncio.get_running_loop(), feed)
    capture.data(b"one\ntwo\nthree\n")
    assert seen == [3]
    capture.data(b"four\n")
    assert seen == [3, 4]
    await asyncio.sleep(0)  # and nothing is left over for the next turn
    assert seen == [3, 4]


async def test_lines_published_outside_a_chunk_reach_readers_on_the_next_turn() -> None:
    # vsmanager's own lines (commands, system lines) come one by one from anywhere: listeners
    # are called once for all of a turn's lines, after it.
    feed = ConsoleFeed(ConsoleBuffer(100, 1 << 20))
    seen: list[int] = []
    feed.listen(lambda: seen.append(feed.buffer.last_seq), asyncio.get_running_loop())
    feed.publish("system", "server started")
    feed.publish("command", "/list clients")
    assert seen == []
    await asyncio.sleep(0)
    assert seen == [2]


async def test_a_gated_capture_keeps_what_comes_until_it_is_opened() -> None:
    # The supervisor opens the game's output once its "server started" line is in: what the
    # game printed before comes after it, in order, the end of the pipe included.
    sink = Sink()
    capture = PipeCapture("stdout", sink, 1024, FLUSH_AFTER_S, asyncio.get_running_loop(),
                          gated=True)
    capture.data(b"Dedicated Server now running\nSaving")
    capture.eof()
    assert sink.texts() == [] and not capture.closed.done()
    sink("system", "server started (pid 1, run 1)")
    capture.open()
    assert sink.texts() == ["server started (pid 1, run 1)", "Dedicated Server now running", "Saving"]
    assert capture.closed.done()
