from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from harness import VsManager, run_vsmanager


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
