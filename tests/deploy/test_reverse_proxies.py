"""`vsmanager proxy-config nginx|caddy`, loaded by Debian's nginx and Caddy and used through them.

The same checks for both: what an admin relies on does not depend on which proxy they chose.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from proxied import (
    Proxied,
    behind_caddy,
    behind_nginx,
    check_live_console_and_client_address,
    check_no_secret_in_access_log,
    check_oversized_body_is_413,
    check_page_loads,
)

# Real daemons, and a vsmanager started for each: slow (CI runs these).
pytestmark = pytest.mark.slow

PROXIES = {"nginx": behind_nginx, "caddy": behind_caddy}


@pytest.fixture(scope="module", params=sorted(PROXIES))
def proxy(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    with PROXIES[request.param](tmp_path_factory.mktemp(request.param)) as p:
        yield p


def test_the_page_loads(proxy: Proxied) -> None:
    check_page_loads(proxy)


def test_live_console_command_and_client_address(proxy: Proxied) -> None:
    check_live_console_and_client_address(proxy)


def test_no_key_or_ticket_in_the_access_log(proxy: Proxied) -> None:
    check_no_secret_in_access_log(proxy)


def test_an_oversized_body_is_413(proxy: Proxied) -> None:
    check_oversized_body_is_413(proxy)


@pytest.mark.parametrize("proxy", ["nginx"], indirect=True)
def test_the_nginx_site_file_puts_http_level_directives_at_http_level(proxy: Proxied) -> None:
    # It loaded (the fixture waited for nginx to listen); these are why it does and works.
    assert "limit_conn_zone" in proxy.config.split("server {")[0]
    assert "proxy_set_header Host $http_host;" in proxy.config  # keeps a non-443 port
