"""The game profile: real Vintage Story lines in, facts out; and lines that almost match."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vsmanager.config.patterns import FACTS, PatternError, compile_pattern
from vsmanager.game.profile import MAX_NAME_CHARS, MAX_PLAYER_NAMES, GameFacts, build_profile

STAMP = "27.1.2024 15:41:47 "


def facts(*lines: str, profile: str = "vintagestory") -> GameFacts:
    game = GameFacts(build_profile(profile))  # type: ignore[arg-type]
    for line in lines:
        game.observe("stdout", line)
    return game


# -- version ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("line", "version", "channel"),
    [
        ("Game Version: v1.22.6 (Stable)", "1.22.6", "Stable"),
        ("13.8.2026 14:00:00 [Server Notification] Game Version: v1.22.6 (Stable)", "1.22.6", "Stable"),
        ("1.12.2026 9:05:00 [Server Notification] Game Version: v1.21.0-rc.8 (Unstable)",
         "1.21.0-rc.8", "Unstable"),
        ("Game Version: v1.20.12", "1.20.12", None),
        ("Game Version: v1.22.6 (Stable)  ", "1.22.6", "Stable"),
    ],
    ids=["bare", "stamped", "release-candidate", "no-channel", "trailing-space"],
)
def test_version_line_gives_version_and_channel(line: str, version: str, channel: str | None) -> None:
    game = facts(line)
    assert (game.version, game.channel) == (version, channel)


@pytest.mark.parametrize(
    "line",
    [
        "[Server Chat] Priya13: <strong>Priya13:</strong> Game Version: v9.9.9 (Stable)",
        "13.8.2026 14:00:00 [Server Chat] Game Version: v9.9.9 (Stable)",
        "Game Version: 1.22.6 (Stable)",  # no v
        "Game Version: vnext (Stable)",
        "Game Version: v1 (Stable)",
        "   game   1.22.6   Essentials",
        "Version: 1.21.0",
        "Game Version: v1.22.6 (Stable) and more",
    ],
    ids=["chat", "chat-stamped", "no-v", "not-a-number", "one-number", "mod-table", "stats",
         "trailing-text"],
)
def test_lines_like_the_version_line_are_ignored(line: str) -> None:
    assert facts(line).version is None


def test_a_new_version_line_replaces_the_old_one() -> None:
    game = facts("Game Version: v1.21.0 (Stable)")
    assert game.observe("stdout", "Game Version: v1.22.6 (Stable)")
    assert not game.observe("stdout", "Game Version: v1.22.6 (Stable)")
    assert game.version == "1.22.6"


# -- joins and leaves ------------------------------------------------------------------------

JOIN = STAMP + "[Server Event] {} [::ffff:127.0.0.1]:43212 joins."
LEAVE = STAMP + "[Server Event] Player {} left."


@pytest.mark.parametrize(
    "line",
    [
        "27.1.2024 15:41:47 [Server Event] Priya13 [::ffff:127.0.0.1]:43212 joins.",
        "[Server Event] Priya13 [::1]:41206 joins.",
        "3.2.2026 8:01:02 [Server Event] Priya13 [203.0.113.7]:50000 joins.",
        "27.1.2024 15:41:47 [Server Event] Priya13 [2001:db8::1]:43212 joins.",
    ],
    ids=["mapped-v4", "no-stamp", "v4", "v6"],
)
def test_join_line_adds_the_player(line: str) -> None:
    game = facts(line)
    assert list(game.players) == ["Priya13"]
    assert game.players_online == 1


@pytest.mark.parametrize(
    "line",
    [
        "27.1.2024 15:42:15 [Server Chat] Priya13: <strong>Priya13:</strong> "
        "[Server Event] Evil [1.2.3.4]:5 joins.",
        "27.1.2024 15:41:47 [Server Notification] Priya13 [::1]:43212 joins.",
        "27.1.2024 15:41:47 [Server Event] Priya13 joins.",
        "27.1.2024 15:41:47 [Server Event] Priya13 [::1] joins.",
        "27.1.2024 15:41:47 [Server Event] Priya13 [::1]:43212 joins. Welcome!",
        "27.1.2024 15:41:47 [Server Event] Priya 13 [::1]:43212 joins.",
        "27.1.2024 15:41:47 [Server Event] Priya13 [::1]:43212 joined.",
        "[Server Notification] Player Tyron joined. Total players: 1",
    ],
    ids=["chat", "other-channel", "no-address", "no-port", "trailing-text", "space-in-name",
         "joined", "old-simulator"],
)
def test_lines_like_a_join_are_ignored(line: str) -> None:
    assert facts(line).players_online == 0


def test_leave_line_removes_the_player() -> None:
    game = facts(JOIN.format("Priya13"), JOIN.format("MKRhere"), LEAVE.format("Priya13"))
    assert list(game.players) == ["MKRhere"]


@pytest.mark.parametrize(
    "line",
    [
        "27.1.2024 15:42:15 [Server Chat] Priya13: <strong>Priya13:</strong> Player Priya13 left.",
        "27.1.2024 15:42:36 [Server Event] Priya13 left.",
        "27.1.2024 15:42:36 [Server Event] Player Priya13 left the game.",
        "27.1.2024 15:42:36 [Server Warning] Player Priya13 left.",
    ],
    ids=["chat", "no-player-word", "trailing-text", "other-channel"],
)
def test_lines_like_a_leave_are_ignored(line: str) -> None:
    assert facts(JOIN.format("Priya13"), line).players_online == 1


def test_the_same_player_joining_twice_counts_once() -> None:
    game = facts(JOIN.format("Priya13"))
    assert not game.observe("stdout", JOIN.format("Priya13"))
    assert game.players_online == 1


def test_a_leave_of_someone_unknown_changes_nothing() -> None:
    game = facts(JOIN.format("Priya13"))
    assert not game.observe("stdout", LEAVE.format("Nobody"))
    assert list(game.players) == ["Priya13"]


def test_players_are_listed_in_the_order_they_joined() -> None:
    game = facts(*(JOIN.format(name) for name in ("c", "a", "b")))
    assert game.as_status()["players"] == ["c", "a", "b"]


# -- /list clients ---------------------------------------------------------------------------

LIST_HEADER = "28.1.2024 15:31:36 [Server Notification] List of online Players"


def test_list_answer_replaces_the_players() -> None:
    # A vsmanager that missed the joins (or a leave) learns the truth from /list clients.
    game = facts(JOIN.format("Gone"), LIST_HEADER, "[1] MKRhere [::1]:41206",
                 "[2] Priya13 [::ffff:127.0.0.1]:43212")
    assert list(game.players) == ["MKRhere", "Priya13"]
    assert game.players_online == 2


def test_empty_list_answer_clears_the_players() -> None:
    game = facts(JOIN.format("Gone"), LIST_HEADER, "")
    assert game.players_online == 0


def test_list_ends_at_the_first_line_that_is_not_an_entry() -> None:
    game = facts(LIST_HEADER, "[1] MKRhere [::1]:41206",
                 "28.1.2024 15:30:20 [Server Notification] Server time: 1. May, Year 0, 08:00",
                 "[2] Late [::1]:41207")
    assert list(game.players) == ["MKRhere"]


def test_a_line_ending_the_list_is_still_read_for_facts() -> None:
    game = facts(LIST_HEADER, "[1] MKRhere [::1]:41206", JOIN.format("Priya13"))
    assert list(game.players) == ["MKRhere", "Priya13"]


def test_entries_outside_a_list_answer_are_ignored() -> None:
    assert facts("[1] MKRhere [::1]:41206").players_online == 0


def test_stderr_lines_do_not_end_a_list_read_on_stdout() -> None:
    game = GameFacts(build_profile("vintagestory"))
    game.observe("stdout", LIST_HEADER)
    game.observe("stdout", "[1] A [::1]:1")
    game.observe("stderr", "some warning")
    game.observe("stdout", "[2] B [::1]:2")
    assert list(game.players) == ["A", "B"]


@pytest.mark.parametrize(
    "header",
    [
        "28.1.2024 15:31:36 [Server Chat] X: <strong>X:</strong> List of online Players",
        "28.1.2024 15:31:36 [Server Notification] List of online players",
    ],
    ids=["chat", "lowercase"],
)
def test_lines_like_the_list_header_start_no_list(header: str) -> None:
    game = facts(JOIN.format("Kept"), header, "[1] Forged [::1]:1", "")
    assert list(game.players) == ["Kept"]


def test_list_entries_are_applied_as_they_come() -> None:
    game = facts(LIST_HEADER)
    assert game.observe("stdout", "[1] MKRhere [::1]:41206")
    assert list(game.players) == ["MKRhere"]  # no line after it needed


# -- /stats ----------------------------------------------------------------------------------

def test_stats_gives_the_count_and_the_maximum() -> None:
    game = facts("Players online: 0 / 16")
    assert (game.players_online, game.players_max) == (0, 16)


def test_stats_count_above_the_names_known_counts_unnamed_players() -> None:
    game = facts(JOIN.format("Priya13"), "Players online: 3 / 16")
    assert game.players_online == 3
    assert list(game.players) == ["Priya13"]
    # A leave of a player we only had a count for still counts.
    game.observe("stdout", LEAVE.format("Unknown"))
    assert game.players_online == 2


def test_stats_count_of_zero_clears_the_names() -> None:
    game = facts(JOIN.format("a"), JOIN.format("b"), "Players online: 0 / 16")
    assert game.as_status()["players"] == []


def test_stats_count_below_the_names_keeps_the_latest_joined() -> None:
    game = facts(JOIN.format("a"), JOIN.format("b"), JOIN.format("c"), "Players online: 1 / 16")
    assert list(game.players) == ["c"]


def test_list_after_stats_names_everyone() -> None:
    game = facts("Players online: 2 / 16", LIST_HEADER, "[1] a [::1]:1", "[2] b [::1]:2")
    assert (game.players_online, list(game.players)) == (2, ["a", "b"])


@pytest.mark.parametrize(
    "line",
    [
        "27.1.2024 15:42:15 [Server Chat] X: <strong>X:</strong> Players online: 9 / 9",
        "Players online: nine / 16",
        "Players online: 3 / 16 (and bots)",
        "Max players online: 3 / 16",
    ],
    ids=["chat", "words", "trailing-text", "prefix"],
)
def test_lines_like_the_stats_count_are_ignored(line: str) -> None:
    game = facts(line)
    assert (game.players_online, game.players_max) == (0, None)


# -- overload --------------------------------------------------------------------------------

def test_overload_warning_counts_and_keeps_the_last_tick() -> None:
    game = facts("13.8.2026 14:00:00 [Server Warning] Server overloaded. A tick took 612ms to complete.",
                 "[Server Warning] Server overloaded. A tick took 1203ms to complete.")
    assert (game.overloaded_ticks, game.last_overload_ms) == (2, 1203)


@pytest.mark.parametrize(
    "line",
    [
        "[Server Chat] X: <strong>X:</strong> Server overloaded. A tick took 612ms to complete.",
        "[Server Warning] Server overloaded. A tick took manyms to complete.",
        "[Server Notification] Server overloaded. A tick took 612ms to complete.",
        "[Server Warning] Server overloaded. A tick took 612ms to complete. Again.",
    ],
    ids=["chat", "no-number", "other-channel", "trailing-text"],
)
def test_lines_like_an_overload_are_ignored(line: str) -> None:
    assert facts(line).overloaded_ticks == 0


# -- run end, status, profiles ----------------------------------------------------------------

def test_run_end_resets_the_players_and_keeps_the_rest() -> None:
    game = facts("Game Version: v1.22.6 (Stable)", JOIN.format("a"), "Players online: 4 / 16",
                 "[Server Warning] Server overloaded. A tick took 612ms to complete.")
    assert game.run_ended()
    status = game.as_status()
    assert status == {
        "version": "1.22.6", "channel": "Stable", "players_online": 0, "players_max": 16,
        "players": [], "overloaded_ticks": 1, "last_overload_ms": 612,
    }
    assert not game.run_ended()


def test_run_end_forgets_a_list_being_read() -> None:
    game = facts(LIST_HEADER)
    game.run_ended()
    assert not game.observe("stdout", "[1] a [::1]:1")


def test_addresses_never_reach_the_status() -> None:
    game = facts(JOIN.format("Priya13"), LIST_HEADER, "[1] Priya13 [::ffff:198.51.100.4]:43212")
    text = repr(game.as_status())
    assert "127.0.0.1" not in text and "198.51.100.4" not in text and "43212" not in text


def test_profile_none_knows_nothing() -> None:
    game = facts("Game Version: v1.22.6 (Stable)", JOIN.format("a"), "Players online: 4 / 16",
                 profile="none")
    assert game.as_status()["version"] is None and game.players_online == 0


def test_patterns_for_another_game() -> None:
    profile = build_profile("none", {
        "join": r"^(?P<name>\w+) connected$",
        "leave": r"^(?P<name>\w+) disconnected$",
        "version": r"^Server v(?P<version>[\d.]+)$",
        "players": r"^(?P<online>\d+) of (?P<max>\d+) online$",
        "overload": r"^Lagging (?P<ms>\d+) ms$",
        "list_header": r"^Online:$",
        "list_entry": r"^ - (?P<name>\w+)$",
    })
    game = GameFacts(profile)
    for line in ("Server v2.0.1", "ann connected", "bob connected", "ann disconnected",
                 "Lagging 40 ms", "5 of 20 online"):
        game.observe("stdout", line)
    assert game.as_status() == {
        "version": "2.0.1", "channel": None, "players_online": 5, "players_max": 20,
        "players": ["bob"], "overloaded_ticks": 1, "last_overload_ms": 40,
    }
    for line in ("Online:", " - carl", " - dana", "done"):
        game.observe("stdout", line)
    assert list(game.players) == ["carl", "dana"]


def test_a_pattern_overrides_one_fact_of_the_vintage_story_profile() -> None:
    profile = build_profile("vintagestory", {"join": r"^\+(?P<name>\w+)$", "overload": ""})
    game = GameFacts(profile)
    game.observe("stdout", "+ann")
    game.observe("stdout", JOIN.format("bob"))
    game.observe("stdout", "[Server Warning] Server overloaded. A tick took 612ms to complete.")
    game.observe("stdout", LEAVE.format("ann"))  # the profile's leave is still there
    assert (game.players_online, game.overloaded_ticks) == (0, 0)


@pytest.mark.parametrize(
    ("fact", "pattern", "message"),
    [
        ("join", r"^(\w+) connected$", "(?P<name>...)"),
        ("version", r"^v(?P<ver>\d+)$", "(?P<version>...)"),
        ("players", r"^(?P<max>\d+)$", "(?P<online>...)"),
        ("leave", r"(unclosed", "not a valid regular expression"),
    ],
    ids=["join-no-name", "version-wrong-group", "players-no-online", "bad-regex"],
)
def test_patterns_without_their_named_groups_are_refused(fact: str, pattern: str, message: str) -> None:
    with pytest.raises(PatternError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")
                       .replace(".", r"\.")):
        compile_pattern(fact, pattern)  # type: ignore[arg-type]


def test_a_pattern_whose_online_group_is_not_a_number_is_ignored() -> None:
    game = GameFacts(build_profile("none", {"players": r"^(?P<online>\w+) online$"}))
    assert not game.observe("stdout", "many online")
    assert game.players_online == 0


def test_optional_groups_that_did_not_match_change_nothing() -> None:
    game = GameFacts(build_profile("none", {
        "join": r"^(?:(?P<name>\w+) )?came$",
        "version": r"^v(?:(?P<version>\d+))?$",
    }))
    assert not game.observe("stdout", "came")
    assert not game.observe("stdout", "v")
    assert game.as_status()["players"] == [] and game.version is None


def test_a_pattern_matching_far_too_much_cannot_grow_the_status_without_end() -> None:
    game = GameFacts(build_profile("none", {"join": r"^(?P<name>.*)$"}))
    for n in range(MAX_PLAYER_NAMES + 50):
        game.observe("stdout", f"line {n}")
    game.observe("stdout", "x" * (MAX_NAME_CHARS + 1))
    assert len(game.players) == MAX_PLAYER_NAMES
    assert game.players_online == MAX_PLAYER_NAMES + 50  # the rest only counted


def test_every_fact_has_a_vintage_story_pattern() -> None:
    assert set(build_profile("vintagestory").patterns) == set(FACTS)


# -- properties --------------------------------------------------------------------------------

NAMES = st.text(st.sampled_from("abcXYZ019_"), min_size=1, max_size=6)
EVENTS = st.lists(st.tuples(st.sampled_from(["join", "leave"]), NAMES), max_size=40)


@settings(deadline=None)  # a loaded machine is slow, not wrong
@given(EVENTS)
def test_players_are_exactly_who_joined_and_has_not_left(events: list[tuple[str, str]]) -> None:
    game = GameFacts(build_profile("vintagestory"))
    expected: dict[str, None] = {}
    for kind, name in events:
        if kind == "join":
            game.observe("stdout", JOIN.format(name))
            expected.setdefault(name, None)
        else:
            game.observe("stdout", LEAVE.format(name))
            expected.pop(name, None)
    assert list(game.players) == list(expected)
    assert game.players_online == len(expected)


@settings(deadline=None)  # a loaded machine is slow, not wrong
@given(EVENTS, st.lists(NAMES, unique=True, max_size=8))
def test_a_list_answer_heals_whatever_came_before(events: list[tuple[str, str]], online: list[str]) -> None:
    game = GameFacts(build_profile("vintagestory"))
    for kind, name in events:
        game.observe("stdout", (JOIN if kind == "join" else LEAVE).format(name))
    game.observe("stdout", LIST_HEADER)
    for index, name in enumerate(online, 1):
        game.observe("stdout", f"[{index}] {name} [::1]:{40000 + index}")
    game.observe("stdout", "")
    assert list(game.players) == online
    assert game.players_online == len(online)


@settings(deadline=None)  # a loaded machine is slow, not wrong
@given(st.text(max_size=200))
def test_any_line_leaves_the_facts_consistent(line: str) -> None:
    game = facts(JOIN.format("a"), "Players online: 3 / 16")
    game.observe("stdout", line)
    status = game.as_status()
    assert status["players_online"] >= len(status["players"]) >= 0
