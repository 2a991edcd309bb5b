"""What a run does given the server's state and the players: pure decisions."""

from __future__ import annotations

import pytest

from vsmanager.automation.policy import Facts, hold, is_missed, refusal, waited_note, warnings_left


@pytest.mark.parametrize(("action", "state", "why"), [
    ("restart", "running", None),
    ("restart", "stopped", "server not running"),
    ("restart", "crashed", "server not running"),
    ("restart", "stopping", "the server is stopping"),
    ("stop", "starting", "the server is starting"),
    ("stop", "stopped", "server not running"),
    ("command", "stopped", "server not running"),
    ("start", "running", "server already running"),
    ("start", "stopped", None),
    ("start", "crashed", None),
    ("backup", "stopped", None),
])
def test_the_server_state_decides(action: str, state: str, why: str | None) -> None:
    assert refusal(action, "ignore", Facts(state, 0)) == why


def test_a_run_while_the_previous_goes_is_skipped() -> None:
    assert refusal("restart", "ignore", Facts("running", 0, busy=True)) == "the previous run is still going"


def test_skip_skips_only_with_players_online_and_not_by_hand() -> None:
    assert refusal("restart", "skip", Facts("running", 2)) == "2 players online"
    assert refusal("restart", "skip", Facts("running", 1)) == "1 player online"
    assert refusal("restart", "skip", Facts("running", 0)) is None
    assert refusal("restart", "skip", Facts("running", 3), by_hand=True) is None


def test_wait_holds_while_players_are_online_up_to_max_wait() -> None:
    assert hold("wait", 2, 10, 60) == "wait"
    assert hold("wait", 0, 10, 60) == "act"
    assert hold("wait", 2, 60, 60) == "act_anyway"
    assert hold("ignore", 5, 0, 60) == "act"
    assert hold("skip", 5, 0, 60) == "act"


def test_the_outcome_says_how_the_wait_went() -> None:
    assert waited_note(0, 0) is None
    assert waited_note(300, 0) == "waited 5 minutes for the players to leave"
    assert waited_note(3600, 2) == "waited 1 hour, then acted with 2 players online"


def test_late_slots_are_missed() -> None:
    assert not is_missed(1000, 1000.5)
    assert not is_missed(1000, 1060)
    assert is_missed(1000, 1061)


def test_warnings_already_past_are_not_sent() -> None:
    assert warnings_left((900, 300, 60), 10_000, 10_000 - 1000) == [900, 300, 60]
    assert warnings_left((900, 300, 60), 10_000, 10_000 - 400) == [300, 60]
    assert warnings_left((900, 300, 60), 10_000, 10_000 - 30) == []


def test_a_countdown_may_begin_while_the_server_starts_and_is_judged_at_its_time() -> None:
    assert refusal("restart", "ignore", Facts("starting", 0), ahead=True) is None
    assert refusal("restart", "ignore", Facts("stopped", 0), ahead=True) == "server not running"
    assert refusal("restart", "ignore", Facts("starting", 0)) == "the server is starting"
