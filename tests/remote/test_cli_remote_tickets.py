"""The terminal client opens the console WebSocket with a ticket, never with the key in a
URL, and falls back to the key in a header on a vsmanager without tickets."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_cli_remote_console import TIMEOUT, Cli, follower

from harness import ADMIN_KEY, VsManager, run_vsmanager, simulator_command
from proxy import TcpProxy
from recording_proxy import RecordingProxy

TICKET_PATH = "/api/v1alpha1/auth/ticket"


def has_tickets(vsm: VsManager) -> bool:
    response = httpx.post(f"{vsm.api}/auth/ticket", headers={"X-API-Key": ADMIN_KEY}, timeout=5)
    return response.status_code == 200


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> Cli:
    return Cli(capsys, monkeypatch, tmp_path)


@pytest.fixture(scope="module")
def busy() -> Iterator[VsManager]:
    with run_vsmanager(simulator_command("--events-per-second", "50")) as vsm:
        vsm.wait_for_state("running")
        yield vsm


def _follow_through_cuts(proxy: TcpProxy, cuts: int) -> None:
    with follower(proxy.url, "--tail", "0", "--json") as child:
        for cut in range(1, cuts + 1):
            child.wait_until(f"connection {cut}", lambda c=cut: child.notices("connected to") == c)
            count = len(child.out)
            child.wait_until("5 more lines", lambda n=count: len(child.out) >= n + 5)
            proxy.cut()
        child.wait_until("the last connection", lambda: child.notices("connected to") == cuts + 1)


def test_the_key_never_travels_in_a_url(busy: VsManager, cli: Cli) -> None:
    with RecordingProxy(busy.port) as proxy:
        _follow_through_cuts(proxy, 1)
        assert cli(proxy.url, "send", "/help", "--wait", "3")[0] == 0
        assert cli(proxy.url, "console", "--no-follow", "--tail", "3")[0] == 0
        assert cli(proxy.url, "status")[0] == 0
    requests = proxy.requests()
    assert len(proxy.sockets()) >= 2  # the follower twice (send's, if it opened in time)
    for method, target, _ in requests:
        assert ADMIN_KEY not in target and "api_key" not in target, (method, target)


def test_each_connection_opens_with_a_fresh_ticket(busy: VsManager) -> None:
    if not has_tickets(busy):
        pytest.skip("this vsmanager has no POST /auth/ticket yet (keys, #9)")
    with RecordingProxy(busy.port) as proxy:
        _follow_through_cuts(proxy, 2)
    upgrades = proxy.sockets()
    tickets = [re.search(r"[?&]ticket=([^&]+)", target) for target, _ in upgrades]
    assert len(upgrades) == 3 and all(tickets)
    assert len({t.group(1) for t in tickets if t}) == 3  # single use: one per connection
    assert all("x-api-key" not in headers for _, headers in upgrades)
    posts = [target for method, target, _ in proxy.requests() if method == "POST"]
    assert posts.count(TICKET_PATH) == 3


def test_without_a_ticket_endpoint_the_key_goes_in_a_header(busy: VsManager) -> None:
    with RecordingProxy(busy.port, hide=(TICKET_PATH,)) as proxy:
        _follow_through_cuts(proxy, 1)
    upgrades = proxy.sockets()
    assert len(upgrades) == 2
    for target, headers in upgrades:
        assert "ticket=" not in target
        assert f"authorization: bearer {ADMIN_KEY.lower()}" in headers


# -- named keys ---------------------------------------------------------------------------


def _keys(keys_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VS_")}
    return subprocess.run([sys.executable, "-m", "vsmanager", "keys", "--file", str(keys_file),
                           *args], env=env, capture_output=True, text=True, timeout=TIMEOUT)


def test_echoes_name_who_ran_a_command_and_a_revoked_key_ends_the_follower(
    tmp_path: Path, cli: Cli
) -> None:
    keys_file = tmp_path / "keys.json"
    added = _keys(keys_file, "add", "alice", "--role", "admin")
    if added.returncode != 0 and "invalid choice" in added.stderr:
        pytest.skip("this vsmanager has no named keys yet (keys, #9)")
    assert added.returncode == 0, added.stderr
    alice = added.stdout.strip()
    with run_vsmanager(keys_file=keys_file) as vsm:
        vsm.wait_for_state("running")
        with follower(vsm.url, "--tail", "0", key=alice) as child:
            child.wait_until("connected", lambda: child.notices("connected to") == 1)
            code, _, _ = cli(vsm.url, "send", "/help", "--wait", "0", key=alice)
            assert code == 0
            child.wait_until("alice's echo", lambda: "[CMD] alice ran /help" in child.out)
            removed = _keys(keys_file, "remove", "alice")
            assert removed.returncode == 0, removed.stderr
            deadline = time.monotonic() + TIMEOUT
            while child.process.poll() is None:
                assert time.monotonic() < deadline, f"follower still running: {child.err[-3:]}"
                time.sleep(0.05)
            assert child.process.returncode == 3
            assert any("key revoked" in line for line in child.err), child.err[-3:]
