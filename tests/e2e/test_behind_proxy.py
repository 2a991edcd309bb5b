"""The page in a real browser, through the real nginx and Caddy configured by
`vsmanager proxy-config`, over TLS on a port that is not 443."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from console_page import WAIT_MS, send_command, sign_in_admin
from playwright.sync_api import Browser, Request, WebSocket

from harness import ADMIN_KEY
from proxied import SOCKET_PATH, Proxied, behind_caddy, behind_nginx, wait_for_log

# A browser, a vsmanager and a real proxy: slow (CI runs these).
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module", params=["nginx", "caddy"])
def proxy(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    behind = behind_nginx if request.param == "nginx" else behind_caddy
    with behind(tmp_path_factory.mktemp(request.param)) as p:
        yield p


def test_the_page_works_through_the_proxy_and_says_1001_when_left(browser: Browser, proxy: Proxied) -> None:
    context = browser.new_context(ignore_https_errors=True)  # the test's self-signed certificate
    api_headers: list[dict[str, str]] = []
    sockets: list[str] = []
    errors: list[str] = []
    try:
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("request", lambda r: _keep_api_headers(r, api_headers))
        page.on("websocket", lambda ws: _keep_url(ws, sockets))
        page.goto(f"{proxy.origin}/")
        sign_in_admin(page)  # its requests and its socket passed the origin check
        send_command(page, "/help")
        wait_for_log(proxy.vsm.log_path, "command=/help")
        page.goto("about:blank")  # the page goes away
        log = wait_for_log(proxy.vsm.log_path, "console_ws_disconnected")
    finally:
        context.close()
    assert not errors
    assert re.search(r"console_ws_disconnected \S+ close_code=1001", log), log
    assert re.search(r"console_command key_name=admin role=admin client=\S+ via=(websocket|http) "
                     r"command=/help", log)
    assert api_headers and all(h.get("authorization") == f"Bearer {ADMIN_KEY}" for h in api_headers)
    assert not any("x-api-key" in h for h in api_headers)
    ticket = re.search(r"ticket=([^&]+)", sockets[0])
    assert ticket
    access = wait_for_log(proxy.access_log, SOCKET_PATH)  # the socket's end is logged too
    assert ADMIN_KEY not in access and ticket[1] not in access


def _keep_api_headers(request: Request, into: list[dict[str, str]]) -> None:
    if "/api/" in request.url and request.resource_type in ("fetch", "xhr"):
        into.append(request.headers)


def _keep_url(ws: WebSocket, into: list[str]) -> None:
    into.append(ws.url)
