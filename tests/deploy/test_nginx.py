"""`vsmanager proxy-config nginx`, loaded by Debian's nginx and exercised through it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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

# What Debian's nginx.conf wraps around a site file, minus what needs root.
NGINX_CONF = """\
daemon off;
master_process off;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    access_log off;
    include {folder}/sites-enabled/*;
}}
"""


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    folder = tmp_path_factory.mktemp("nginx")
    (folder / "sites-enabled").mkdir()
    conf = folder / "nginx.conf"
    command = [require("nginx"), "-p", str(folder), "-c", str(conf)]
    files = {"nginx.conf": NGINX_CONF.format(folder=folder), "sites-enabled/vsmanager": "{site}"}
    with proxied("nginx", folder, command, None, files) as p:
        yield p


def test_the_site_file_is_valid_for_nginx(nginx: Proxied, tmp_path: Path) -> None:
    assert "limit_conn_zone" in nginx.config.split("server {")[0]  # http level, where it loads
    assert "proxy_set_header Host $http_host;" in nginx.config  # keeps a non-443 port


def test_the_page_loads_through_nginx(nginx: Proxied) -> None:
    check_page_loads(nginx)


def test_live_console_command_and_client_address_through_nginx(nginx: Proxied) -> None:
    check_live_console_and_client_address(nginx)


def test_no_key_or_ticket_in_the_nginx_access_log(nginx: Proxied) -> None:
    check_no_secret_in_access_log(nginx)


def test_an_oversized_body_is_413_through_nginx(nginx: Proxied) -> None:
    check_oversized_body_is_413(nginx)
