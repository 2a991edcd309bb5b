from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from harness import VsManager, run_vsmanager

TESTS = Path(__file__).parent

# No per-example deadline for any property test: a loaded machine is slow, not wrong (one
# example of a schedule's due times took 674 ms beside five busy loops, against Hypothesis'
# default 200 ms, and 25 ms when tried again). Loaded before the test modules, so their own
# settings() start from it.
settings.register_profile("vsmanager", deadline=None)
settings.load_profile("vsmanager")

# The files that take longest (a minute or more on the 2-core machine), longest first. xdist
# hands out a file per worker (--dist loadfile) in collection order: one of these picked up
# last would keep its worker busy long after the others are done, so they go out first.
LONGEST_FILES = (
    "test_package.py",
    "e2e/test_first_hour.py",
    "automation/test_schedules_live.py",
    "remote/test_cli_remote_commands.py",
    "remote/test_cli_remote_console.py",
    "game/test_supervision.py",
    "remote/test_console_screen.py",
    "stream/test_console_ws.py",
    "access/test_auth_api.py",
    "game/test_game_status.py",
    "e2e/test_console.py",
    "e2e/test_reconnect.py",
)
_renamed = [name for name in LONGEST_FILES if not (TESTS / name).is_file()]
assert not _renamed, f"LONGEST_FILES names files that are gone: {_renamed}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: place for place, name in enumerate(LONGEST_FILES)}
    items.sort(key=lambda item: rank.get(item.path.relative_to(TESTS).as_posix(), len(rank)))


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No VS_* variable from the machine running the tests leaks into in-process settings."""
    for name in list(os.environ):
        if name.upper().startswith("VS_"):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.fixture
def vsm() -> Iterator[VsManager]:
    """A real vsmanager on a free loopback port, running the simulator (started)."""
    with run_vsmanager() as manager:
        manager.wait_for_state("running")
        yield manager


@pytest.fixture(scope="module")
def shared_vsm() -> Iterator[VsManager]:
    """One vsmanager (simulator, running) shared by a module's tests that do not change it."""
    with run_vsmanager() as manager:
        manager.wait_for_state("running")
        yield manager
