"""DNS rebinding: only the names vsmanager answers to in Host are served (421 before anything
else, the WebSocket handshake included), and malformed requests get the JSON error shape."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from harness import ADMIN_KEY, VsManager, run_vsmanager
from rawhttp import connect, exchange, is_closed, status_of
from vsmanager.config.values import parse_hosts
from vsmanager.edge.hosts import HostPolicy, host_name

API = "/api/v1alpha1"
WS_HEAD = ("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")


# -- the policy (pure) -----------------------------------------------------------------------


@pytest.mark.parametrize(("header", "name"), [
    ("127.0.0.1:8080", "127.0.0.1"), ("[::1]:8080", "::1"), ("[::1]", "::1"), ("::1", "::1"),
    ("LocalHost.:80", "localhost"), ("vs.example.com", "vs.example.com"), (" a.b:1 ", "a.b"),
])
def test_host_name_drops_port_brackets_case_and_trailing_dot(header: str, name: str) -> None:
    assert host_name(header) == name


@pytest.mark.parametrize("header", [
    "127.0.0.1:8080", "127.0.0.5", "[::1]:1", "10.1.2.3:8080", "192.168.1.20", "[fe80::1]:80",
    "localhost:8080", "localhost", "LOCALHOST.", None, "",
])
def test_addresses_and_localhost_are_always_allowed(header: str | None) -> None:
    assert HostPolicy(frozenset()).allows(header)


@pytest.mark.parametrize("header", [
    "evil.example:8080", "evil.example", "127.0.0.1.evil.example", "localhost.evil.example",
    "vs.example.com.evil", "xn--80ak6aa92e.com",
])
def test_other_names_are_refused(header: str) -> None:
    assert not HostPolicy(parse_hosts("vs.example.com")).allows(header)


def test_listed_names_suffixes_and_the_listen_name_are_allowed() -> None:
    policy = HostPolicy(parse_hosts("vs.example.com, *.lan"), listen="console.home")
    assert policy.allows("VS.example.com:443")
    assert policy.allows("box.lan:8080") and policy.allows("a.b.lan")
    assert not policy.allows("lan") and not policy.allows("evil-lan")
    assert policy.allows("console.home:8080")
    assert HostPolicy(parse_hosts("*")).allows("anything.example")


@pytest.mark.parametrize("value", ["http://vs.example.com", "vs.example.com:8080", "a b", "*.*", "a/b"])
def test_allowed_hosts_refuses_what_is_not_a_name(value: str) -> None:
    with pytest.raises(ValueError, match="is not a host name"):
        parse_hosts(value)


# -- a real vsmanager ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vsm() -> Iterator[VsManager]:
    with run_vsmanager(autostart=False, allowed_hosts="vs.example.com",
                       auth_failure_limit=3) as manager:
        yield manager


def raw(method: str, path: str, host: str, extra: str = "") -> bytes:
    close = "" if "Upgrade" in extra else "Connection: close\r\n"
    return f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n{extra}{close}\r\n".encode()


def body_of(response: bytes) -> dict[str, object]:
    head, _, body = response.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower()
    return dict(json.loads(body))


@pytest.mark.parametrize("path", ["/healthz", f"{API}/server/status", "/", "/docs"])
def test_a_rebound_name_gets_421_in_the_json_shape(vsm: VsManager, path: str) -> None:
    with connect(vsm.port) as sock:
        sock.sendall(raw("GET", path, f"evil.example:{vsm.port}", f"X-API-Key: {ADMIN_KEY}\r\n"))
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
        assert is_closed(sock)
    assert status_of(response) == 421
    assert body_of(response)["code"] == "host_not_allowed"


def test_a_rebound_websocket_handshake_gets_421(vsm: VsManager) -> None:
    response = exchange(vsm.port, raw("GET", f"{API}/console/ws?api_key={ADMIN_KEY}",
                                      f"evil.example:{vsm.port}", WS_HEAD))
    assert status_of(response) == 421
    assert b"101" not in response.split(b"\r\n", 1)[0]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "vs.example.com", "[::1]"])
def test_own_names_are_served(vsm: VsManager, host: str) -> None:
    response = exchange(vsm.port, raw("GET", f"{API}/server/status", f"{host}:{vsm.port}",
                                      f"X-API-Key: {ADMIN_KEY}\r\n"))
    assert status_of(response) == 200


def test_refused_names_do_not_count_toward_the_wrong_key_throttle(vsm: VsManager) -> None:
    # 21 wrong keys from a rebinding page would lock the admin's own address out.
    for _ in range(10):
        exchange(vsm.port, raw("GET", f"{API}/server/status", "evil.example",
                               "X-API-Key: wrong-key-0123456789abcdef\r\n"))
    with vsm.client() as client:
        assert client.get("/server/status").status_code == 200
    assert "auth_failed" not in vsm.log_text()


def test_refusals_are_one_warning_a_minute(vsm: VsManager) -> None:
    for _ in range(3):
        exchange(vsm.port, raw("GET", "/healthz", "other.example"))
    assert vsm.log_text().count("host_not_allowed") == 1


def test_behind_a_trusted_proxy_the_forwarded_host_is_checked() -> None:
    with run_vsmanager(autostart=False, trusted_proxies="127.0.0.1",
                       allowed_hosts="vs.example.com") as vsm:
        def status(forwarded: str) -> int:
            return status_of(exchange(vsm.port, raw("GET", "/healthz", "127.0.0.1",
                                                    f"X-Forwarded-Host: {forwarded}\r\n")))

        assert status("vs.example.com") == 200
        assert status("evil.example") == 421
        # A proxy that appends keeps what the client wrote at the left: every entry counts.
        assert status("evil.example, vs.example.com") == 421
        # Without X-Forwarded-Host, Host is the name (nginx's proxy_set_header Host $host).
        assert status_of(exchange(vsm.port, raw("GET", "/healthz", "vs.example.com"))) == 200


def test_forwarded_host_from_an_untrusted_peer_is_ignored(vsm: VsManager) -> None:
    response = exchange(vsm.port, raw("GET", "/healthz", "127.0.0.1", "X-Forwarded-Host: evil.example\r\n"))
    assert status_of(response) == 200


def test_httpx_with_the_default_host_is_served(vsm: VsManager) -> None:
    assert httpx.get(f"http://localhost:{vsm.port}/healthz", timeout=5).status_code == 200


# -- malformed requests ----------------------------------------------------------------------


@pytest.mark.parametrize("data", [
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/1.1\r\nBad Header Name: x\r\n\r\n",
    b"GET / HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n",
    b"GET /\x00 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
], ids=["request-line", "header-name", "version", "nul", "double-length"])
def test_a_malformed_request_gets_400_in_the_json_shape(vsm: VsManager, data: bytes) -> None:
    response = exchange(vsm.port, data)
    assert status_of(response) == 400
    assert body_of(response) == {"code": "bad_request", "message": "malformed HTTP request"}


def test_a_malformed_websocket_handshake_gets_400_in_the_json_shape(vsm: VsManager) -> None:
    head = WS_HEAD.replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "")
    response = exchange(vsm.port, raw("GET", f"{API}/console/ws", "127.0.0.1", head))
    assert status_of(response) == 400
    body = body_of(response)
    assert body["code"] == "bad_request" and "Sec-WebSocket-Key" in str(body["message"])
