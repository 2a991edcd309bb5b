"""The access log's bounds: lines per client address and minute, then one count; the page's
polls and refused keys at debug; long paths cut; a failed key is one line."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync import client as ws_client

from harness import TIME_SCALE, VsManager, run_vsmanager
from rawhttp import exchange, request
from vsmanager.ops.accesslog import RequestLogBudget, client_host

WRONG_KEY = "wrong-key-0123456789abcdef"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- the budget (pure) -----------------------------------------------------------------------


def test_a_client_gets_its_lines_then_is_counted() -> None:
    budget = RequestLogBudget(3, clock=Clock())
    assert [budget.admit("a")[0] for _ in range(5)] == [True, True, True, False, False]
    assert budget.admit("b") == (True, [])  # another address has its own


def test_the_count_is_reported_once_the_minute_is_over() -> None:
    clock = Clock()
    budget = RequestLogBudget(2, clock=clock)
    for _ in range(7):
        budget.admit("a")
    clock.now += 59
    assert budget.admit("b") == (True, [])
    clock.now += 1
    assert budget.admit("b") == (True, [("a", 5)])
    assert budget.admit("a") == (True, [])  # a new minute, a fresh budget


def test_a_client_within_its_budget_is_never_reported() -> None:
    clock = Clock()
    budget = RequestLogBudget(2, clock=clock)
    budget.admit("a")
    clock.now += 61
    assert budget.admit("a") == (True, [])


def test_the_table_of_clients_is_bounded() -> None:
    clock = Clock()
    budget = RequestLogBudget(1, max_clients=3, clock=clock)
    for client in "abc":
        budget.admit(client)
        budget.admit(client)
    written, ended = budget.admit("d")
    assert written and ended == [("a", 1)]
    assert len(budget._windows) == 3


@pytest.mark.parametrize(("client", "host"), [
    ("127.0.0.1:5000", "127.0.0.1"), ("::1:5000", "::1"), ("10.0.0.1:0", "10.0.0.1"), ("", "unknown"),
])
def test_client_host_drops_the_port(client: str, host: str) -> None:
    assert client_host(client) == host


# -- a real vsmanager ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vsm() -> Iterator[VsManager]:
    with run_vsmanager(autostart=False, log_format="json", log_requests_per_client=5,
                       log_max_path_chars=64) as manager:
        yield manager


def events_since(vsm: VsManager, mark: int) -> list[dict[str, object]]:
    time.sleep(0.3 * TIME_SCALE)  # the log is written by another process
    text = vsm.log_text()[mark:]
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def from_address(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=10)


def test_a_flood_from_one_address_writes_its_budget_then_one_count(vsm: VsManager) -> None:
    mark = len(vsm.log_text())
    with from_address("127.0.0.3") as flood:
        for _ in range(40):
            flood.get(f"{vsm.url}/healthz")
    with from_address("127.0.0.4") as other:
        assert other.get(f"{vsm.url}/healthz").status_code == 200
    lines = [e for e in events_since(vsm, mark) if e["event"] == "http_request"]
    flooded = [e for e in lines if str(e["client"]).startswith("127.0.0.3:")]
    assert len(flooded) == 5
    assert any(str(e["client"]).startswith("127.0.0.4:") for e in lines)


@pytest.mark.slow
def test_the_suppressed_count_is_written_after_the_minute(vsm: VsManager) -> None:
    mark = len(vsm.log_text())
    with from_address("127.0.0.5") as flood:
        for _ in range(12):
            flood.get(f"{vsm.url}/healthz")
        time.sleep(61)
        flood.get(f"{vsm.url}/healthz")
    counts = [e for e in events_since(vsm, mark) if e["event"] == "http_requests_suppressed"]
    assert [(c["client"], c["suppressed"]) for c in counts] == [("127.0.0.5", 7)]


def test_a_long_path_is_cut_in_its_line(vsm: VsManager) -> None:
    mark = len(vsm.log_text())
    with from_address("127.0.0.6") as client:
        client.get(f"{vsm.url}/no/such/" + "x" * 15_000)
    text = vsm.log_text()[mark:]
    assert "x" * 100 not in text
    line = next(e for e in events_since(vsm, mark) if e["event"] == "http_request")
    assert re.fullmatch(r"/no/such/x+\.\.\.\[15009 chars\]", str(line["path"]))
    assert len(text) < 2000


def test_a_key_in_a_long_path_is_redacted_before_the_cut(vsm: VsManager) -> None:
    mark = len(vsm.log_text())
    with from_address("127.0.0.6") as client:
        # The key straddles the cut: half of it must not be left behind.
        client.get(f"{vsm.url}/{'y' * 40}/{vsm.admin_key}/{'z' * 200}")
    assert vsm.admin_key[:12] not in vsm.log_text()[mark:]


def test_the_pages_polls_are_not_logged_at_info(vsm: VsManager) -> None:
    mark = len(vsm.log_text())
    with vsm.client() as client:
        for path in ("/server/status", "/server/metrics", "/console/runs"):
            assert client.get(path).status_code == 200
        assert client.get("/console/history").status_code == 200
    paths = [e["path"] for e in events_since(vsm, mark) if e["event"] == "http_request"]
    assert paths == ["/api/v1alpha1/console/history"]


def test_the_pages_polls_are_logged_at_debug() -> None:
    with run_vsmanager(autostart=False, log_format="json", log_level="debug") as vsm:
        mark = len(vsm.log_text())
        with vsm.client() as client:
            client.get("/server/status")
        polls = [e for e in events_since(vsm, mark) if e["event"] == "http_request"]
        assert [(e["path"], e["level"]) for e in polls] == [("/api/v1alpha1/server/status", "debug")]


def test_a_failed_key_writes_one_line(vsm: VsManager) -> None:
    mark = len(vsm.log_text())
    with vsm.client(key=WRONG_KEY) as client:
        assert client.get("/server/status").status_code == 401
    events = events_since(vsm, mark)
    assert [e["event"] for e in events] == ["auth_failed"]


def test_a_failed_key_on_the_socket_writes_one_line(vsm: VsManager) -> None:
    mark = len(vsm.log_text())
    with pytest.raises(ConnectionClosed) as closed:
        with ws_client.connect(vsm.ws_url(key=WRONG_KEY), open_timeout=5) as ws:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001
    events = events_since(vsm, mark)
    assert [e["event"] for e in events] == ["auth_failed"]


def test_refusals_before_any_route_write_no_request_line(vsm: VsManager) -> None:
    mark = len(vsm.log_text())
    for _ in range(3):
        exchange(vsm.port, request("GET", "/healthz").replace(b"Host: 127.0.0.1", b"Host: evil.example"))
    events = events_since(vsm, mark)
    assert [e["event"] for e in events] == ["host_not_allowed"]
