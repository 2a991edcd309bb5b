"""The human form of the status (pure): each fact, and rows left out for an older server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vsmanager.remote.status_command import fit
from vsmanager.remote.status_view import (
    describe_last_run,
    describe_players,
    describe_restart,
    describe_status,
    format_bytes,
    format_duration,
    latest_sample,
    status_rows,
    status_table,
)

NOW = datetime(2026, 12, 1, 22, 10, 0, tzinfo=UTC)
URL = "http://127.0.0.1:8080"

FULL = {
    "state": "running", "pid": 4242, "uptime_s": 3723.5, "exit_code": None,
    "started_at": "2026-12-01T21:08:00Z", "restarts": 2, "console_id": "c0ffee",
    "run": 3,
    "last_run": {"run": 2, "started_at": "2026-12-01T21:00:00Z",
                 "ended_at": "2026-12-01T21:05:02Z", "exit_code": 1, "outcome": "crashed"},
    "restart_policy": "on-crash", "next_restart_at": None, "crashes": 1, "gave_up": False,
    "leftover_pids": [],
    "game": {"version": "1.22.6", "channel": "Stable", "players_online": 2, "players_max": 16,
             "players": ["alice", "bob"], "overloaded_ticks": 3, "last_overload_ms": 612},
}
SAMPLE = {"t": 1.0, "game_cpu_percent": 12.34, "game_rss_bytes": 1_717_986_918,
          "game_threads": 42, "self_cpu_percent": 0.5, "self_rss_bytes": 60_000_000,
          "lines_per_second": 3.0, "clients": 2, "players_online": 2}


def test_every_fact_has_its_row() -> None:
    rows = dict(status_rows(FULL, SAMPLE, URL, NOW))
    assert rows == {
        "state": "running",
        "uptime": "1h 2m 3s",
        "pid": "4242",
        "run": "3, started 2026-12-01T21:08:00Z",
        "last run": "2, crashed with code 1 at 2026-12-01T21:05:02Z after 5m 2s",
        "restart": "on crash (1 crash lately)",
        "restarts": "2",
        "version": "1.22.6 (Stable)",
        "players": "2 of 16: alice, bob",
        "overloaded": "3 ticks, the last 612 ms",
        "game cpu": "12.3 % of one core",
        "game memory": "1.6 GiB RSS, 42 threads",
        "console": "3.0 lines/s, 2 clients",
        "vsmanager": URL,
    }


def test_the_table_aligns_the_values() -> None:
    table = status_table(FULL, URL, sample=SAMPLE, now=NOW).splitlines()
    assert table[0] == "state       running"
    assert "game memory 1.6 GiB RSS, 42 threads" in table
    assert {line.index(value) for line, value in zip(
        table, ["running", "1h", "4242"], strict=False)} == {12}


def test_an_older_vsmanager_leaves_the_new_rows_out() -> None:
    old = {"state": "running", "pid": 7, "uptime_s": 5, "exit_code": None,
           "started_at": "2026-12-01T22:00:00Z", "restarts": 0}
    assert [name for name, _ in status_rows(old, None, URL, NOW)] == [
        "state", "uptime", "pid", "started at", "restarts", "vsmanager"]


@pytest.mark.parametrize(
    ("fields", "shown"),
    [
        pytest.param({"next_restart_at": "2026-12-01T22:10:04.2Z", "crashes": 2},
                     "next in 5 s (2 crashes lately)", id="pending"),
        pytest.param({"next_restart_at": "2026-12-01T22:09:00Z", "crashes": 1},
                     "next in 0 s (1 crash lately)", id="due"),
        pytest.param({"gave_up": True, "crashes": 5}, "gave up after 5 crashes: start it by hand",
                     id="gave-up"),
        pytest.param({"restart_policy": "never"}, "never (VS_SERVER_RESTART=never)", id="never"),
        pytest.param({"crashes": 0}, "on crash", id="quiet"),
    ],
)
def test_restart_state(fields: dict[str, object], shown: str) -> None:
    status = {"restart_policy": "on-crash", "next_restart_at": None, "crashes": 0,
              "gave_up": False, **fields}
    assert describe_restart(status, NOW) == shown


def test_a_crashed_server_shows_its_exit_code_and_no_uptime() -> None:
    rows = dict(status_rows({**FULL, "state": "crashed", "pid": None, "exit_code": 3},
                            {**SAMPLE, "game_cpu_percent": None, "game_rss_bytes": None},
                            URL, NOW))
    assert rows["state"] == "crashed (exit code 3)"
    assert "uptime" not in rows
    assert (rows["pid"], rows["game cpu"], rows["game memory"]) == ("-", "-", "-")


def test_players_without_a_maximum_and_many_names() -> None:
    assert describe_players({"players_online": 0, "players_max": None, "players": []}) == "0"
    many = {"players_online": 25, "players_max": 32, "players": [f"p{i}" for i in range(25)]}
    assert describe_players(many).endswith("p19 and 5 more")


def test_game_supplied_text_is_escaped() -> None:
    game = {**FULL["game"], "version": "1.0\x1b[2J", "players": ["eve\u202e", "x\x07"]}  # type: ignore[dict-item]
    rows = dict(status_rows({**FULL, "game": game}, None, URL, NOW))
    assert rows["version"] == "1.0\\x1b[2J (Stable)"
    assert rows["players"] == "2 of 16: eve\\u202e, x\\x07"


def test_last_run_still_unknown_parts() -> None:
    assert describe_last_run({"run": 1, "outcome": "killed"}) == "1, killed"


def test_units() -> None:
    assert format_duration(90061) == "1d 1h 1m 1s"
    assert format_duration(None) == "-"
    assert [format_bytes(n) for n in (512, 2048, 5 * 1024**2, 3 * 1024**4)] == [
        "512 B", "2.0 KiB", "5.0 MiB", "3072.0 GiB"]
    assert latest_sample({"interval_s": 5, "samples": [{"t": 1}, {"t": 2}]}) == {"t": 2}
    assert latest_sample({"samples": []}) is None and latest_sample(None) is None


def test_fit_cuts_to_terminal_columns() -> None:
    assert fit("abcdef", 10) == "abcdef"
    assert fit("abcdef", 4) == "abc…"
    assert fit("日本語のテキスト", 7) == "日本語…"


def test_describe_status_for_a_change_of_state() -> None:
    assert describe_status(FULL) == "server running (pid 4242, run 3)"
    assert describe_status(FULL, with_uptime=True) == "server running (pid 4242, run 3, up 1h 2m 3s)"
    assert describe_status({"state": "stopped", "pid": None}) == "server stopped"
    crashed = {"state": "crashed", "exit_code": 1, "restart_policy": "on-crash",
               "next_restart_at": "2026-12-01T22:10:05Z", "crashes": 1, "gave_up": False}
    assert describe_status(crashed, now=NOW) == "server crashed (exit code 1); restarting in 5 s"
    gave_up = {**crashed, "next_restart_at": None, "gave_up": True, "crashes": 5}
    assert describe_status(gave_up, now=NOW) == (
        "server crashed (exit code 1); not restarting: gave up after 5 crashes: start it by hand")
    assert describe_status({"state": "running", "pid": 3, "leftover_pids": [9]}).endswith(
        "; leftover pids 9 hold its pipes")
