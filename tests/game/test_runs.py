"""The run log, pure: numbering, ends, and which runs the buffer still holds."""

from __future__ import annotations

import pytest

from vsmanager.game.runs import RunLog, SeqRange


def test_runs_are_numbered_from_one_and_none_before_the_first() -> None:
    log = RunLog()
    assert log.number is None and log.latest is None and log.last_ended is None
    assert log.begin(1, "t1").run == 1
    log.end(5, "t2", 3, "crashed")
    assert log.begin(6, "t3").run == 2
    assert log.number == 2


def test_last_ended_is_the_previous_run_while_one_runs() -> None:
    log = RunLog()
    log.begin(1, "t1")
    log.end(5, "t2", 0, "stopped")
    log.begin(6, "t3")
    ended = log.last_ended
    assert ended is not None
    assert ended.summary() == {"run": 1, "started_at": "t1", "ended_at": "t2", "exit_code": 0,
                               "outcome": "stopped"}


def test_held_lists_runs_with_lines_in_the_buffer_clipped_to_it() -> None:
    log = RunLog()
    log.begin(1, "a")
    log.end(10, "b", 1, "crashed")
    log.begin(12, "c")
    log.end(20, "d", 0, "stopped")
    log.begin(22, "e")  # running
    held = log.held(buffer_first=5, buffer_last=30)
    assert [(run.run, span) for run, span in held] == [
        (1, SeqRange(5, 10)), (2, SeqRange(12, 20)), (3, SeqRange(22, 30))]
    assert [run.run for run, _ in log.held(buffer_first=15, buffer_last=30)] == [2, 3]
    assert log.find(1) is None  # forgotten: its lines are gone for good


def test_a_running_run_without_lines_yet_is_not_listed() -> None:
    log = RunLog()
    log.begin(8, "a")
    assert log.held(buffer_first=1, buffer_last=7) == []


def test_illegal_transitions_say_what_was_expected() -> None:
    log = RunLog()
    with pytest.raises(RuntimeError, match="expected begin"):
        log.end(1, "t", 0, "stopped")
    log.begin(1, "t")
    with pytest.raises(RuntimeError, match="expected end"):
        log.begin(2, "t")


def test_the_log_is_bounded_by_the_buffer() -> None:
    log = RunLog()
    for i in range(100):
        log.begin(i * 2 + 1, "t", buffer_first=i * 2 - 5)
        log.end(i * 2 + 2, "t", 1, "crashed")
    # The last begin() was told the buffer starts at 193: runs ending before it are gone.
    assert [run.run for run, _ in log.held(buffer_first=193, buffer_last=200)] == [97, 98, 99, 100]
    assert log.last_ended is not None and log.last_ended.run == 100
