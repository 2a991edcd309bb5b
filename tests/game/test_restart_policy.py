"""The restart policy, without processes: facts and a clock in, a decision out."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vsmanager.game.restart_policy import (
    Exit,
    RestartPolicy,
    RestartRules,
    describe_seconds,
    outcome_of,
)

DEFAULTS = RestartRules()


def crash(code: int = 3, ran_for: float = 1.0) -> Exit:
    return Exit(code, requested=False, ran_for=ran_for)


@pytest.mark.parametrize(
    ("code", "requested", "outcome"),
    [
        (0, False, "stopped"),
        (3, False, "crashed"),
        (-9, False, "crashed"),
        (None, False, "crashed"),
        (0, True, "stopped"),
        (1, True, "stopped"),
        (-9, True, "killed"),
        (-15, True, "killed"),
    ],
    ids=["clean-exit", "code-3", "sigkill", "never-started", "asked", "asked-code-1",
         "asked-sigkill", "asked-sigterm"],
)
def test_outcome_names_who_asked_and_how_it_ended(
    code: int | None, requested: bool, outcome: str
) -> None:
    assert outcome_of(code, requested) == outcome


def test_first_crash_restarts_after_the_delay_with_the_issue_wording() -> None:
    decision = RestartPolicy(DEFAULTS).on_exit(crash(), now=100.0)
    assert decision.outcome == "crashed" and decision.restart_in == 5.0
    assert decision.crashes == 1 and not decision.gave_up
    assert decision.message == "restarting in 5 s, crash 1 of 5 in 10 min"


def test_delay_doubles_per_crash_and_the_fifth_in_the_window_is_not_restarted() -> None:
    policy = RestartPolicy(DEFAULTS)
    delays = [policy.on_exit(crash(), now=10.0 * i).restart_in for i in range(4)]
    assert delays == [5.0, 10.0, 20.0, 40.0]
    fifth = policy.on_exit(crash(), now=50.0)
    assert fifth.restart_in is None and fifth.gave_up and fifth.crashes == 5
    assert fifth.message == "crashed 5 times in 10 min: not restarting; start it by hand"
    assert policy.gave_up


def test_delay_is_capped_at_the_maximum() -> None:
    policy = RestartPolicy(RestartRules(delay=100, max_delay=300, limit=10))
    delays = [policy.on_exit(crash(), now=float(i)).restart_in for i in range(4)]
    assert delays == [100, 200, 300, 300]


def test_a_clean_unasked_exit_is_stopped_and_not_restarted() -> None:
    decision = RestartPolicy(DEFAULTS).on_exit(Exit(0, requested=False, ran_for=1), now=1.0)
    assert (decision.outcome, decision.restart_in, decision.crashes) == ("stopped", None, 0)


def test_an_asked_exit_is_never_a_crash() -> None:
    policy = RestartPolicy(DEFAULTS)
    for code in (0, 1, -9):
        decision = policy.on_exit(Exit(code, requested=True, ran_for=1), now=1.0)
        assert decision.restart_in is None and decision.crashes == 0


def test_never_counts_the_crash_but_does_not_restart() -> None:
    decision = RestartPolicy(RestartRules(mode="never")).on_exit(crash(), now=1.0)
    assert decision.restart_in is None and decision.crashes == 1 and not decision.gave_up
    assert "VS_SERVER_RESTART=never" in decision.message


def test_crashes_older_than_the_window_are_forgotten() -> None:
    policy = RestartPolicy(DEFAULTS)
    for i in range(4):
        policy.on_exit(crash(), now=float(i))
    assert policy.crashes(now=3.0) == 4
    assert policy.crashes(now=601.5) == 2  # the crashes at 0 and 1 left the window
    decision = policy.on_exit(crash(), now=602.5)
    assert decision.crashes == 2 and decision.restart_in == 10.0


def test_a_run_longer_than_the_window_starts_the_count_afresh() -> None:
    policy = RestartPolicy(DEFAULTS)
    for i in range(4):
        policy.on_exit(crash(), now=float(i))
    decision = policy.on_exit(crash(ran_for=601), now=100.0)
    assert decision.crashes == 1 and decision.restart_in == 5.0


def test_reset_forgets_the_crashes_and_giving_up() -> None:
    policy = RestartPolicy(RestartRules(limit=2))
    policy.on_exit(crash(), now=1.0)
    assert policy.on_exit(crash(), now=2.0).gave_up
    policy.reset()
    assert not policy.gave_up and policy.crashes(now=3.0) == 0
    assert policy.on_exit(crash(), now=4.0).restart_in == 5.0


def test_a_limit_of_one_restarts_nothing() -> None:
    decision = RestartPolicy(RestartRules(limit=1)).on_exit(crash(), now=1.0)
    assert decision.gave_up and decision.message.startswith("crashed once in 10 min")


def test_tiny_values_work() -> None:
    policy = RestartPolicy(RestartRules(delay=0.5, max_delay=1.5, limit=3, window=2.5))
    first = policy.on_exit(crash(), now=0.0)
    assert first.restart_in == 0.5
    assert first.message == "restarting in 0.5 s, crash 1 of 3 in 2.5 s"
    assert policy.on_exit(crash(), now=1.0).restart_in == 1.0
    assert policy.on_exit(crash(), now=2.0).gave_up
    policy.reset()
    policy.on_exit(crash(), now=3.0)
    assert policy.on_exit(crash(), now=6.0).crashes == 1  # the one at 3.0 left the window


@pytest.mark.parametrize(
    "rules",
    [RestartRules(limit=0), RestartRules(delay=0), RestartRules(delay=10, max_delay=5),
     RestartRules(window=0)],
    ids=["limit-0", "delay-0", "max-below-delay", "window-0"],
)
def test_rules_out_of_range_are_refused(rules: RestartRules) -> None:
    with pytest.raises(ValueError, match="restart rules"):
        RestartPolicy(rules)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5, "5 s"), (0.5, "0.5 s"), (90, "90 s"), (600, "10 min"), (300, "5 min"), (7200, "2 h")],
)
def test_durations_read_naturally(seconds: float, text: str) -> None:
    assert describe_seconds(seconds) == text


gaps = st.floats(min_value=0.0, max_value=2000.0, allow_nan=False)
runs = st.floats(min_value=0.0, max_value=2000.0, allow_nan=False)
events = st.lists(st.tuples(gaps, runs, st.sampled_from([0, 1, 3, -9]), st.booleans()),
                  max_size=40)


@given(events)
def test_decisions_hold_their_invariants_for_any_history(history: list[tuple[float, float, int, bool]]) -> None:
    rules = DEFAULTS
    policy = RestartPolicy(rules)
    now = 0.0
    crash_times: list[float] = []
    for gap, ran_for, code, requested in history:
        now += gap
        decision = policy.on_exit(Exit(code, requested, ran_for), now)
        crashed = not requested and code != 0
        assert (decision.outcome == "crashed") == crashed
        if not crashed:
            assert decision.restart_in is None
            continue
        if ran_for > rules.window:
            crash_times.clear()
        crash_times = [t for t in crash_times if now - t <= rules.window] + [now]
        # The count is exactly the crashes of the window (a long run clears it)...
        assert decision.crashes == len(crash_times)
        # ...restarts happen below the limit only, after a doubling delay within the bounds.
        if decision.crashes < rules.limit:
            assert decision.restart_in == min(rules.delay * 2 ** (decision.crashes - 1), rules.max_delay)
            assert rules.delay <= decision.restart_in <= rules.max_delay
        else:
            assert decision.restart_in is None and decision.gave_up


def test_settings_take_fractions_and_refuse_a_max_below_the_delay() -> None:
    from harness import ADMIN_KEY
    from vsmanager.config.settings import SettingsError, load_settings

    tiny = load_settings(api_key_admin=ADMIN_KEY, server_restart_delay=0.5,
                         server_restart_window=2.5, server_restart_max_delay=0.5)
    assert (tiny.server_restart_delay, tiny.server_restart_window) == (0.5, 2.5)
    with pytest.raises(SettingsError, match="VS_SERVER_RESTART_MAX_DELAY"):
        load_settings(api_key_admin=ADMIN_KEY, server_restart_delay=5, server_restart_max_delay=1)
    with pytest.raises(SettingsError, match="VS_SERVER_RESTART"):
        load_settings(api_key_admin=ADMIN_KEY, server_restart="always")
