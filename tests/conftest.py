from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness import VsManager, run_vsmanager


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
