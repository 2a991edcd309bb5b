"""Game facts in the status of a real vsmanager: from the simulator, and from exact Vintage
Story lines sent through the whole capture path by a game that echoes its commands."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import connect

from harness import TIME_SCALE, VsManager, run_vsmanager, script_command, simulator_command

TIMEOUT = 10 * TIME_SCALE


@pytest.fixture
def echo() -> Iterator[VsManager]:
    with run_vsmanager(script_command("echo_game.py")) as manager:
        manager.wait_for_state("running")
        yield manager


def say(vsm: VsManager, *lines: str) -> None:
    """Have the echo game print these lines."""
    with vsm.client() as client:
        for line in lines:
            response = client.post("/console/command", json={"command": f"/echo {line}"})
            assert response.status_code == 202, response.text


def wait_for_game(vsm: VsManager, predicate: Any, timeout: float = TIMEOUT) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    game: dict[str, Any] = {}
    while time.monotonic() < deadline:
        game = dict(vsm.status()["game"])  # type: ignore[arg-type]
        if predicate(game):
            return game
        time.sleep(0.05)
    raise AssertionError(f"game facts never matched; last {game}")


def test_simulator_players_and_version_reach_the_status() -> None:
    with run_vsmanager(simulator_command("--players", "3", "--event-interval", "1000")) as vsm:
        game = wait_for_game(vsm, lambda g: g["players_online"] == 3)
        assert game["players"] == ["Tyron", "Priya13", "MKRhere"]
        assert (game["version"], game["channel"]) == ("1.22.6", "Stable")
        with vsm.client() as client:
            client.post("/console/command", json={"command": "/stats"})
        game = wait_for_game(vsm, lambda g: g["players_max"] == 16)
        # A Monitor key sees the same facts.
        with vsm.client(vsm.monitor_key) as client:
            assert client.get("/server/status").json()["game"] == game


def test_status_never_carries_player_addresses(echo: VsManager) -> None:
    say(echo, "27.1.2024 15:41:47 [Server Event] Priya13 [::ffff:198.51.100.23]:43212 joins.")
    wait_for_game(echo, lambda g: g["players"] == ["Priya13"])
    with echo.client() as client:
        text = client.get("/server/status").text
    assert "198.51.100.23" not in text and "43212" not in text


def test_joins_leaves_and_a_missed_line_healed_by_list_clients(echo: VsManager) -> None:
    say(echo,
        "27.1.2024 15:41:47 [Server Event] Priya13 [::ffff:127.0.0.1]:43212 joins.",
        "27.1.2024 15:41:50 [Server Event] MKRhere [::1]:41206 joins.",
        "27.1.2024 15:42:36 [Server Event] Player Priya13 left.")
    wait_for_game(echo, lambda g: g["players"] == ["MKRhere"])
    # MKRhere's leave and Saraty's join were never seen; /list clients says who is there.
    say(echo,
        "28.1.2024 15:31:36 [Server Notification] Handling Console Command /list c",
        "28.1.2024 15:31:36 [Server Notification] List of online Players",
        "[1] Saraty [::1]:41300")
    wait_for_game(echo, lambda g: g["players"] == ["Saraty"] and g["players_online"] == 1)
    say(echo, "Players online: 4 / 16")
    game = wait_for_game(echo, lambda g: g["players_online"] == 4)
    assert (game["players"], game["players_max"]) == (["Saraty"], 16)


def test_overloaded_ticks_are_counted(echo: VsManager) -> None:
    say(echo, "1.12.2026 22:00:00 [Server Warning] Server overloaded. A tick took 612ms to complete.",
        "1.12.2026 22:00:01 [Server Warning] Server overloaded. A tick took 880ms to complete.")
    game = wait_for_game(echo, lambda g: g["overloaded_ticks"] == 2)
    assert game["last_overload_ms"] == 880


def test_players_reset_when_the_run_ends(echo: VsManager) -> None:
    # (The game is started again after the crash; with nobody online either way.)
    say(echo, "Game Version: v1.22.6 (Stable)",
        "27.1.2024 15:41:47 [Server Event] Priya13 [::ffff:127.0.0.1]:43212 joins.")
    wait_for_game(echo, lambda g: g["players_online"] == 1)
    with echo.client() as client:
        client.post("/console/command", json={"command": "/exit 3"})
    echo.wait_for_state("crashed")
    game = wait_for_game(echo, lambda g: g["players_online"] == 0)
    assert game["players"] == [] and game["version"] == "1.22.6"


async def test_the_status_frame_carries_the_game_facts() -> None:
    with run_vsmanager(simulator_command("--players", "2", "--event-interval", "1000")) as vsm:
        wait_for_game(vsm, lambda g: g["players_online"] == 2)
        async with connect(vsm.ws_url(format="json", history_lines=0), open_timeout=TIMEOUT) as ws:
            async with asyncio.timeout(TIMEOUT):
                while True:
                    frame = json.loads(await ws.recv())
                    if frame["type"] == "status":
                        break
        assert frame["game"]["players"] == ["Tyron", "Priya13"]


def test_profile_none_learns_nothing() -> None:
    with run_vsmanager(simulator_command("--players", "2", "--event-interval", "1000"),
                       game_profile="none") as vsm:
        vsm.wait_for_line("Priya13")
        game = vsm.status()["game"]
        assert game == {"version": None, "channel": None, "players_online": 0, "players_max": None,
                        "players": [], "overloaded_ticks": 0, "last_overload_ms": None}


def test_patterns_for_another_game_come_from_settings() -> None:
    with run_vsmanager(script_command("echo_game.py"),
                       game_profile="none",
                       game_pattern_join=r"^(?P<name>\w+) connected$",
                       game_pattern_version=r"^MyGame (?P<version>[\d.]+)$") as vsm:
        vsm.wait_for_state("running")
        say(vsm, "MyGame 3.1", "ann connected")
        game = wait_for_game(vsm, lambda g: g["players"] == ["ann"])
        assert game["version"] == "3.1"


def test_a_pattern_without_its_named_group_stops_start_up() -> None:
    with pytest.raises(AssertionError, match="VS_GAME_PATTERN_JOIN needs the named group"):
        with run_vsmanager(script_command("echo_game.py"), game_pattern_join=r"^(\w+) connected$",
                           startup_timeout=20):
            pass
