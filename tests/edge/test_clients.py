"""Who a request comes from: forwarding headers believed only from VS_TRUSTED_PROXIES."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
import websockets.sync.client as ws_client
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from harness import ADMIN_KEY, TIME_SCALE, VsManager, run_vsmanager
from vsmanager.config.values import parse_networks
from vsmanager.edge.clients import TrustedProxies, client_address


def proxies(text: str) -> TrustedProxies:
    return TrustedProxies(parse_networks(text))


def test_no_trusted_proxies_means_no_header_is_believed() -> None:
    assert proxies("").forwarded_client("127.0.0.1", "203.0.113.7", "203.0.113.8") == "127.0.0.1"


def test_a_trusted_proxy_names_the_client() -> None:
    assert proxies("127.0.0.1").forwarded_client("127.0.0.1", "203.0.113.7", None) == "203.0.113.7"


def test_the_nearest_untrusted_hop_wins_over_what_the_client_wrote() -> None:
    # The client wrote 1.1.1.1 itself; the proxy appended the address it saw.
    chain = "1.1.1.1, 203.0.113.7, 10.0.0.2"
    assert proxies("127.0.0.1, 10.0.0.0/8").forwarded_client("127.0.0.1", chain, None) == "203.0.113.7"


def test_x_real_ip_is_used_without_x_forwarded_for() -> None:
    assert proxies("::1").forwarded_client("::1", None, "2001:db8::5") == "2001:db8::5"


def test_garbage_in_the_chain_is_not_believed() -> None:
    assert proxies("127.0.0.1").forwarded_client("127.0.0.1", "evil\nline, 203.0.113.7x", None) == "127.0.0.1"


def test_an_ipv4_mapped_peer_matches_an_ipv4_network() -> None:
    assert proxies("127.0.0.0/8").is_trusted("::ffff:127.0.0.5")


@pytest.mark.parametrize("bad", ["localhost", "10.0.0.0/33", "1.2.3"], ids=["name", "prefix", "short"])
def test_a_bad_network_is_refused_naming_it(bad: str) -> None:
    with pytest.raises(ValueError, match=bad.replace(".", r"\.")):
        parse_networks(f"127.0.0.1, {bad}")


@settings(max_examples=300, deadline=None, database=None)
@given(forwarded=st.text(max_size=80) | st.none(), real_ip=st.text(max_size=40) | st.none())
def test_any_header_gives_an_address_and_never_raises(forwarded: str | None, real_ip: str | None) -> None:
    client = proxies("127.0.0.1").forwarded_client("127.0.0.1", forwarded, real_ip)
    assert client == "127.0.0.1" or ("\n" not in client and " " not in client)


def test_client_address_formats() -> None:
    assert client_address({"client": ("127.0.0.1", 5000)}) == "127.0.0.1:5000"
    assert client_address({"client": ("::1", 5000)}) == "[::1]:5000"
    assert client_address({"client": ("203.0.113.7", 0)}) == "203.0.113.7"
    assert client_address({}) == "unknown"


# -- against a real vsmanager ---------------------------------------------------------------


@pytest.fixture(scope="module")
def untrusting() -> Iterator[VsManager]:
    with run_vsmanager(autostart=False, ws_max_connections_per_client=1) as manager:
        yield manager


@pytest.fixture(scope="module")
def behind_proxy() -> Iterator[VsManager]:
    with run_vsmanager(autostart=False, ws_max_connections_per_client=1,
                       trusted_proxies="127.0.0.1") as manager:
        yield manager


def _ws_closed_with(vsm: VsManager, forwarded_for: str) -> int | None:
    with ws_client.connect(vsm.ws_url(), open_timeout=5,
                           additional_headers={"X-Forwarded-For": forwarded_for}) as ws:
        try:
            ws.recv(timeout=0.5 * TIME_SCALE)
        except TimeoutError:
            return None
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else 1006
    return None


def test_forwarded_for_from_an_untrusted_loopback_client_is_ignored(untrusting: VsManager) -> None:
    # Before: uvicorn believed X-Forwarded-For from any loopback peer, so a client could pick
    # its own address. Now both sockets count as 127.0.0.1, and the second is over the cap.
    with ws_client.connect(untrusting.ws_url(), open_timeout=5,
                           additional_headers={"X-Forwarded-For": "203.0.113.1"}):
        assert _ws_closed_with(untrusting, "203.0.113.2") == 1013


def test_a_trusted_proxy_counts_each_forwarded_client_apart(behind_proxy: VsManager) -> None:
    with ws_client.connect(behind_proxy.ws_url(), open_timeout=5,
                           additional_headers={"X-Forwarded-For": "203.0.113.1"}):
        assert _ws_closed_with(behind_proxy, "203.0.113.2") is None
        assert _ws_closed_with(behind_proxy, "203.0.113.1") == 1013


def test_the_log_names_the_forwarded_client_only_behind_a_trusted_proxy(
    untrusting: VsManager, behind_proxy: VsManager
) -> None:
    for vsm in (untrusting, behind_proxy):
        with httpx.Client(base_url=vsm.api, headers={"X-API-Key": ADMIN_KEY,
                                                     "X-Forwarded-For": "198.51.100.9"}) as client:
            client.post("/server/stop")
    deadline = time.monotonic() + 5 * TIME_SCALE
    while "198.51.100.9" not in behind_proxy.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "client=198.51.100.9" in behind_proxy.log_text()
    assert "198.51.100.9" not in untrusting.log_text()
