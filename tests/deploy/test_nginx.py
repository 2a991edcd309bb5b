"""`vsmanager proxy-config nginx`, loaded by Debian's nginx and exercised through it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from proxied import (
    Proxied,
    behind_nginx,
    check_live_console_and_client_address,
    check_no_secret_in_access_log,
    check_oversized_body_is_413,
    check_page_loads,
)

# Real daemons, and a vsmanager started for them: slow (CI runs these).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    with behind_nginx(tmp_path_factory.mktemp("nginx")) as p:
        yield p


def test_the_site_file_puts_http_level_directives_at_http_level(nginx: Proxied) -> None:
    # It loaded (the fixture waited for nginx to listen); these are why it does and works.
    assert "limit_conn_zone" in nginx.config.split("server {")[0]
    assert "proxy_set_header Host $http_host;" in nginx.config  # keeps a non-443 port


def test_the_page_loads_through_nginx(nginx: Proxied) -> None:
    check_page_loads(nginx)


def test_live_console_command_and_client_address_through_nginx(nginx: Proxied) -> None:
    check_live_console_and_client_address(nginx)


def test_no_key_or_ticket_in_the_nginx_access_log(nginx: Proxied) -> None:
    check_no_secret_in_access_log(nginx)


def test_an_oversized_body_is_413_through_nginx(nginx: Proxied) -> None:
    check_oversized_body_is_413(nginx)
