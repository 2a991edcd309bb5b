"""Browser connections: same origin or VS_ALLOWED_ORIGINS, else 403 / close 4003."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import websockets.sync.client as ws_client
from websockets.exceptions import ConnectionClosed

from harness import ADMIN_KEY, TIME_SCALE, VsManager, run_vsmanager
from vsmanager.config.values import normalize_origin, parse_origins
from vsmanager.edge.origins import OriginPolicy

ALLOWED = "https://console.example.com"


@pytest.mark.parametrize(
    ("origin", "scheme", "host", "allowed"),
    [
        (None, "http", "127.0.0.1:8080", True),
        ("http://127.0.0.1:8080", "http", "127.0.0.1:8080", True),
        ("http://127.0.0.1:8080", "ws", "127.0.0.1:8080", True),
        ("https://vs.example.com", "wss", "vs.example.com", True),
        ("https://vs.example.com:443", "https", "VS.example.com", True),
        ("http://127.0.0.1:8081", "http", "127.0.0.1:8080", False),
        ("http://vs.example.com", "https", "vs.example.com", False),
        ("https://evil.example", "ws", "127.0.0.1:8080", False),
        ("null", "ws", "127.0.0.1:8080", False),
        ("https://console.example.com", "ws", "127.0.0.1:8080", True),
        ("https://console.example.com.evil.example", "ws", "127.0.0.1:8080", False),
        ("http://127.0.0.1:8080", "http", None, False),
    ],
    ids=["no-origin", "same", "same-ws", "same-wss", "default-port-and-case", "other-port",
         "other-scheme", "other-site", "null", "allowed", "allowed-suffix", "no-host"],
)
def test_origin_policy(origin: str | None, scheme: str, host: str | None, allowed: bool) -> None:
    policy = OriginPolicy(parse_origins(ALLOWED))
    assert policy.allows(origin, scheme, host) is allowed


def test_a_malformed_allowed_origin_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="not-an-origin"):
        parse_origins("https://ok.example, not-an-origin")


def test_origins_are_normalized() -> None:
    assert normalize_origin("HTTPS://Example.COM:443/") == "https://example.com"
    assert normalize_origin("http://[::1]:8080") == "http://[::1]:8080"
    assert normalize_origin("https://example.com/path") is None


@pytest.fixture(scope="module")
def vsm() -> Iterator[VsManager]:
    with run_vsmanager(autostart=False, allowed_origins=ALLOWED) as manager:
        yield manager


def _close_code(vsm: VsManager, origin: str | None) -> int | None:
    with ws_client.connect(vsm.ws_url(), open_timeout=5, origin=origin) as ws:  # type: ignore[arg-type]
        try:
            ws.recv(timeout=0.5 * TIME_SCALE)
        except TimeoutError:
            return None
        except ConnectionClosed as closed:
            assert closed.rcvd is not None
            if closed.rcvd.code == 4003:
                assert closed.rcvd.reason == "origin not allowed"
            return closed.rcvd.code
    return None


def test_a_socket_from_another_site_is_closed_with_4003(vsm: VsManager) -> None:
    assert _close_code(vsm, "https://evil.example") == 4003


def test_a_socket_from_the_page_itself_streams(vsm: VsManager) -> None:
    assert _close_code(vsm, f"http://127.0.0.1:{vsm.port}") is None


def test_a_socket_from_an_allowed_origin_streams(vsm: VsManager) -> None:
    assert _close_code(vsm, ALLOWED) is None


def test_a_socket_without_origin_streams(vsm: VsManager) -> None:
    assert _close_code(vsm, None) is None


def test_a_request_from_another_site_gets_403(vsm: VsManager) -> None:
    with httpx.Client(base_url=vsm.api, headers={"X-API-Key": ADMIN_KEY}) as client:
        refused = client.post("/server/stop", headers={"Origin": "https://evil.example"})
        same = client.post("/server/stop", headers={"Origin": vsm.url})
    assert refused.status_code == 403
    assert refused.json() == {"code": "origin_not_allowed", "message": "origin not allowed"}
    assert same.status_code == 409  # through to the route: the game is not running
