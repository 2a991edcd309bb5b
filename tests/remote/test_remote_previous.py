"""``vsmanager console --previous`` / ``--run N``: one run's lines, like kubectl logs -p."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_cli_remote_console import Cli

from harness import ADMIN_KEY, MONITOR_KEY, VsManager, python_command, run_vsmanager
from recording_proxy import RecordingProxy
from vsmanager.remote.previous import NoSuchRun, describe_run, pick_run


def _run(number: int, **fields: object) -> dict[str, object]:
    return {"run": number, "started_at": "2026-12-01T22:00:00Z", "ended_at": None,
            "exit_code": None, "outcome": None, "first_seq": 10 * number,
            "last_seq": 10 * number + 9, **fields}


def test_previous_is_the_run_before_the_latest() -> None:
    runs = [_run(2), _run(3), _run(4)]
    assert pick_run(runs, number=None)["run"] == 3
    assert pick_run(runs, number=2)["run"] == 2


@pytest.mark.parametrize(
    ("runs", "number", "message"),
    [
        pytest.param([], None, "no run yet", id="none-yet"),
        pytest.param([_run(1)], None, "no previous run: run 1 is the first", id="first"),
        pytest.param([_run(5)], None, "run 4 are no longer held", id="dropped"),
        pytest.param([_run(2), _run(3)], 7, "no run 7: the runs so far are 1 to 3", id="future"),
        pytest.param([_run(2), _run(3)], 1, "(vsmanager holds runs 2, 3)", id="old"),
    ],
)
def test_a_run_that_cannot_be_shown_says_why(
    runs: list[dict[str, object]], number: int | None, message: str
) -> None:
    with pytest.raises(NoSuchRun) as raised:
        pick_run(runs, number=number)
    assert message in raised.value.message


def test_describe_run_says_how_it_ended() -> None:
    crashed = _run(3, ended_at="2026-12-01T22:05:10Z", exit_code=1, outcome="crashed")
    assert describe_run(crashed) == (
        "run 3, 2026-12-01T22:00:00Z to 22:05:10Z, crashed with code 1 (seq 30-39)")
    assert describe_run(_run(4)) == "run 4, from 2026-12-01T22:00:00Z, still running (seq 40-49)"
    killed = _run(1, ended_at="2026-12-02T01:00:00Z", outcome="killed")
    assert "to 2026-12-02T01:00:00Z, killed (seq" in describe_run(killed)


# -- against a real vsmanager -----------------------------------------------------------

GAME = (
    "import os, sys\n"
    "for i in range(5):\n"
    "    print(f'line {i} of game {os.getpid()}', flush=True)\n"
    "for line in sys.stdin:\n"
    "    if line.strip() == '/stop':\n"
    "        break\n"
)


@pytest.fixture(scope="module")
def two_runs() -> Iterator[tuple[VsManager, int, int]]:
    """A vsmanager whose game ran once (pid 1, stopped) and runs again (pid 2)."""
    with run_vsmanager(python_command("-c", GAME), server_ready_pattern="") as vsm:
        first = int(vsm.wait_for_state("running")["pid"])  # type: ignore[call-overload]
        vsm.wait_for_line(f"line 4 of game {first}")
        with vsm.client() as client:
            client.post("/server/stop", params={"wait": 10}).raise_for_status()
            vsm.wait_for_state("stopped")
            client.post("/server/start", params={"wait": 10}).raise_for_status()
        second = int(vsm.wait_for_state("running")["pid"])  # type: ignore[call-overload]
        vsm.wait_for_line(f"line 4 of game {second}")
        yield vsm, first, second


def _has_runs(vsm: VsManager) -> bool:
    answer = httpx.get(f"{vsm.api}/console/runs", headers={"X-API-Key": ADMIN_KEY}, timeout=5)
    return answer.status_code != 404


@pytest.fixture
def with_runs(two_runs: tuple[VsManager, int, int]) -> tuple[VsManager, int, int]:
    if not _has_runs(two_runs[0]):
        pytest.skip("this vsmanager has no GET /console/runs yet (supervise, #8)")
    return two_runs


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> Cli:
    return Cli(capsys, monkeypatch, tmp_path)


def test_previous_prints_the_run_before_and_ends(
    with_runs: tuple[VsManager, int, int], cli: Cli
) -> None:
    vsm, first, second = with_runs
    code, out, err = cli(vsm.url, "console", "--previous")
    assert code == 0
    assert "run 1, " in err and "stopped" in err
    assert f"line 0 of game {first}" in out and f"line 4 of game {first}" in out
    assert f"game {second}" not in out


def test_run_n_and_tail_and_json(with_runs: tuple[VsManager, int, int], cli: Cli) -> None:
    vsm, first, second = with_runs
    code, out, _ = cli(vsm.url, "console", "--run", "2", "--json", "--streams", "stdout")
    assert code == 0
    texts = [json.loads(line)["text"] for line in out.splitlines()]
    assert texts == [f"line {i} of game {second}" for i in range(5)]
    code, out, _ = cli(vsm.url, "console", "-p", "--tail", "2", "--streams", "stdout")
    assert (code, out) == (0, f"line 3 of game {first}\nline 4 of game {first}\n")


def test_previous_errors_exit_with_their_codes(
    with_runs: tuple[VsManager, int, int], cli: Cli
) -> None:
    vsm, _, _ = with_runs
    code, out, err = cli(vsm.url, "console", "--run", "9")
    assert (code, out) == (1, "") and "no run 9" in err
    code, _, err = cli(vsm.url, "console", "--previous", "--follow")
    assert code == 2 and "cannot be combined" in err
    code, _, err = cli(vsm.url, "console", "--previous", key=MONITOR_KEY)
    assert code == 3


def test_previous_on_a_vsmanager_without_runs_says_so(
    two_runs: tuple[VsManager, int, int], cli: Cli
) -> None:
    with RecordingProxy(two_runs[0].port, hide=("/api/v1alpha1/console/runs",)) as older:
        code, out, err = cli(older.url, "console", "--previous")
    assert (code, out) == (1, "")
    assert "keeps no runs" in err
