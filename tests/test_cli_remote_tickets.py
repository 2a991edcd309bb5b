"""The terminal client opens the console WebSocket with a ticket, never with the key in a
URL, and falls back to the key in a header on a vsmanager without tickets."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from harness import ADMIN_KEY, VsManager, run_vsmanager, simulator_command
from proxy import TcpProxy
from recording_proxy import RecordingProxy
from test_cli_remote_console import Cli, follower

TICKET_PATH = "/api/v1alpha1/auth/ticket"


def has_tickets(vsm: VsManager) -> bool:
    response = httpx.post(f"{vsm.api}/auth/ticket", headers={"X-API-Key": ADMIN_KEY}, timeout=5)
    return response.status_code == 200


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: object) -> Cli:
    return Cli(capsys, monkeypatch, tmp_path)  # type: ignore[arg-type]


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
        assert cli(proxy.url, "send", "/help", "--wait", "0.5")[0] == 0
        assert cli(proxy.url, "console", "--no-follow", "--tail", "3")[0] == 0
        assert cli(proxy.url, "status")[0] == 0
    requests = proxy.requests()
    assert len(proxy.sockets()) >= 3  # the follower twice, send once
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
        assert f"x-api-key: {ADMIN_KEY.lower()}" in headers
