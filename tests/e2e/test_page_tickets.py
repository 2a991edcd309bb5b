"""The page never puts a key in a URL: each socket opens with a fresh single-use ticket."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from console_page import buffer_text, open_page, send_command, sign_in_admin, wait_connected, wait_for_echo
from playwright.sync_api import Browser, expect

from harness import TIME_SCALE, run_vsmanager
from proxy import TcpProxy

pytestmark = pytest.mark.e2e


def test_each_socket_opens_with_a_fresh_ticket_and_no_key(browser: Browser) -> None:
    with run_vsmanager() as vsm, TcpProxy(vsm.port) as proxy, open_page(browser, proxy.url) as page:
        vsm.wait_for_state("running")
        sockets: list[str] = []
        page.on("websocket", lambda ws: sockets.append(ws.url))
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        sign_in_admin(page)
        proxy.cut()
        expect(page.locator("#connection")).to_contain_text("reconnecting")
        wait_connected(page)
        assert len(sockets) == 2
        tickets = [parse_qs(urlsplit(url).query).get("ticket", [None])[0] for url in sockets]
        assert all(tickets) and tickets[0] != tickets[1], sockets
        for url in sockets + requests:
            assert vsm.admin_key not in url, url
            assert "api_key" not in url, url


def test_the_echo_names_the_key_that_sent_the_command(browser: Browser) -> None:
    with run_vsmanager() as vsm, open_page(browser, vsm.url) as page:
        vsm.wait_for_state("running")
        sign_in_admin(page)
        send_command(page, "/help")
        wait_for_echo(page, "/help")
        # VS_API_KEY_ADMIN is the key named "admin" (docs/security.md).
        assert any(re.fullmatch(r"\[CMD admin\] /help", row) for row in buffer_text(page))




def keys_command(keys_file: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "vsmanager", "keys", "--file", str(keys_file), *args],
        capture_output=True, text=True, timeout=30 * TIME_SCALE, check=True, stdin=subprocess.DEVNULL,
    )
    return done.stdout.strip()


def test_a_revoked_key_signs_the_page_out_saying_why(browser: Browser, tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.toml"
    alice = keys_command(keys_file, "add", "alice", "--role", "admin")
    with run_vsmanager(keys_file=keys_file) as vsm, open_page(browser, vsm.url) as page:
        vsm.wait_for_state("running")
        sign_in_admin(page, alice)
        send_command(page, "/help")
        wait_for_echo(page, "/help")
        assert any(row == "[CMD alice] /help" for row in buffer_text(page))
        keys_command(keys_file, "remove", "alice")
        # Closed with 4001 "key revoked" within 5 s; the page signs out and says why.
        expect(page.locator("#signin")).to_be_visible(timeout=int(10_000 * TIME_SCALE))
        expect(page.locator("#signin-error")).to_contain_text("key revoked")
