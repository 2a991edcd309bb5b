"""`vsmanager proxy-config caddy`, loaded by Debian's Caddy and exercised through it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from proxied import (
    Proxied,
    behind_caddy,
    check_live_console_and_client_address,
    check_no_secret_in_access_log,
    check_oversized_body_is_413,
    check_page_loads,
)

# Real daemons, and a vsmanager started for them: slow (CI runs these).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def caddy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    with behind_caddy(tmp_path_factory.mktemp("caddy")) as p:
        yield p


def test_the_page_loads_through_caddy(caddy: Proxied) -> None:
    check_page_loads(caddy)


def test_live_console_command_and_client_address_through_caddy(caddy: Proxied) -> None:
    check_live_console_and_client_address(caddy)


def test_no_key_or_ticket_in_the_caddy_access_log(caddy: Proxied) -> None:
    check_no_secret_in_access_log(caddy)


def test_an_oversized_body_is_413_through_caddy(caddy: Proxied) -> None:
    check_oversized_body_is_413(caddy)
