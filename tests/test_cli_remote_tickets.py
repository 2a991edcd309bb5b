"""The terminal client opens the console WebSocket with a ticket, never with the key in a
URL, and falls back to the key in a header on a vsmanager without tickets."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from harness import ADMIN_KEY, VsManager, run_vsmanager, simulator_command
from proxy import TcpProxy
from test_cli_remote_console import Cli, follower

TICKET_PATH = b"/api/v1alpha1/auth/ticket"
_REQUEST_LINE = re.compile(rb"^(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS) (\S+) HTTP/1\.1\r$",
                           re.MULTILINE)


class RecordingProxy(TcpProxy):
    """A TcpProxy that keeps what clients sent, and can hide vsmanager's ticket endpoint
    (the real vsmanager then answers 404, as one older than tickets does)."""

    def __init__(self, target_port: int, *, hide_tickets: bool = False) -> None:
        super().__init__(target_port)
        self.hide_tickets = hide_tickets
        self.sent = bytearray()
        self._record = threading.Lock()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            if sink.getpeername()[1] != self.target_port:
                return super()._pump(source, sink)  # vsmanager's answers pass untouched
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if self.hide_tickets:
                    data = data.replace(b"POST " + TICKET_PATH + b" ",
                                        b"POST " + TICKET_PATH + b"-hidden ")
                with self._record:
                    self.sent += data
                sink.sendall(data)
        _close_both(source, sink)
        return None

    def requests(self) -> list[tuple[str, str, str]]:
        """(method, target, headers) of every request seen, in order."""
        with self._record:
            text = bytes(self.sent)
        found = []
        for match in _REQUEST_LINE.finditer(text):
            head_end = text.find(b"\r\n\r\n", match.end())
            headers = text[match.end():head_end if head_end >= 0 else None]
            found.append((match.group(1).decode(), match.group(2).decode(),
                          headers.decode(errors="replace").lower()))
        return found

    def sockets(self) -> list[tuple[str, str]]:
        """(target, headers) of each WebSocket upgrade."""
        return [(target, headers) for method, target, headers in self.requests()
                if method == "GET" and "/console/ws" in target]


def _close_both(*sockets: socket.socket) -> None:
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.close()


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
    assert posts.count(TICKET_PATH.decode()) == 3


def test_without_a_ticket_endpoint_the_key_goes_in_a_header(busy: VsManager) -> None:
    with RecordingProxy(busy.port, hide_tickets=True) as proxy:
        _follow_through_cuts(proxy, 1)
    upgrades = proxy.sockets()
    assert len(upgrades) == 2
    for target, headers in upgrades:
        assert "ticket=" not in target
        assert f"x-api-key: {ADMIN_KEY.lower()}" in headers
