"""`vsmanager proxy-config caddy`, loaded by Debian's Caddy and exercised through it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from proxied import (
    Proxied,
    check_live_console_and_client_address,
    check_no_secret_in_access_log,
    check_oversized_body_is_413,
    check_page_loads,
    proxied,
    require,
)

# Real daemons, and a vsmanager started for them: slow (CI runs these).
pytestmark = pytest.mark.slow

# Global options around the site block: no admin endpoint, no redirect listener on port 80
# (the test is not root's to bind it), no HTTP/3; Caddy's storage in the test's folder.
GLOBAL_OPTIONS = """\
{
\tadmin off
\tauto_https disable_redirects
\tservers {
\t\tprotocols h1 h2
\t}
}
"""


@pytest.fixture(scope="module")
def caddy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    folder = tmp_path_factory.mktemp("caddy")
    command = [require("caddy"), "run", "--adapter", "caddyfile", "--config", str(folder / "Caddyfile")]
    env = {**os.environ, "HOME": str(folder), "XDG_DATA_HOME": str(folder / "data"),
           "XDG_CONFIG_HOME": str(folder / "config")}
    with proxied("caddy", folder, command, env, {"Caddyfile": GLOBAL_OPTIONS + "{site}"}) as p:
        yield p


def test_the_page_loads_through_caddy(caddy: Proxied) -> None:
    check_page_loads(caddy)


def test_live_console_command_and_client_address_through_caddy(caddy: Proxied) -> None:
    check_live_console_and_client_address(caddy)


def test_no_key_or_ticket_in_the_caddy_access_log(caddy: Proxied) -> None:
    check_no_secret_in_access_log(caddy)


def test_an_oversized_body_is_413_through_caddy(caddy: Proxied) -> None:
    check_oversized_body_is_413(caddy)
