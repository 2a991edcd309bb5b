"""Reverse-proxy configurations for vsmanager (nginx site file, Caddyfile site block); pure,
from a few facts. docs/deploy.md shows the output and explains each line.

Written for the versions Debian 12 ships, and later ones: nginx 1.22 and Caddy 2.6. Both were
loaded and exercised by tests/deploy/test_nginx.py and test_caddy.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from vsmanager import __version__

Proxy = Literal["nginx", "caddy"]

NGINX_VERSION = "nginx 1.22 (Debian 12) or later"
CADDY_VERSION = "Caddy 2.6 (Debian 12) or later"
CONSOLE_SOCKET_PATH = "/api/v1alpha1/console/ws"
DEFAULT_UPSTREAM = "127.0.0.1:8080"
# Query parameters that may carry a secret: the socket's ticket, and old clients' keys.
SECRET_QUERY_PARAMETERS = ("ticket", "api_key", "key", "token")
# The console socket lives for hours; vsmanager pings it every VS_WS_PING_INTERVAL seconds,
# so a dead one is noticed long before this, and a quiet one is never cut by the proxy.
SOCKET_TIMEOUT = "1h"
NGINX_MAX_CONN = 65535  # limit_conn's own bound


@dataclass(frozen=True)
class ProxyFacts:
    server_name: str
    listen: int
    upstream: str
    max_body_bytes: int
    max_header_bytes: int
    connections_per_client: int
    access_log: Path
    tls_cert: Path | None = None
    tls_key: Path | None = None
    listen_address: str | None = None  # None: every address

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None and self.tls_key is not None


def default_listen(caddy: bool, tls: bool) -> int:
    # Caddy without certificate files gets one itself (automatic HTTPS): 443 either way.
    return 443 if tls or caddy else 80


def render(proxy: Proxy, facts: ProxyFacts) -> str:
    return render_nginx(facts) if proxy == "nginx" else render_caddy(facts)


def _header(proxy: str, version: str, facts: ProxyFacts, install: list[str]) -> list[str]:
    lines = [
        f"# vsmanager behind {proxy}, written by `vsmanager proxy-config {proxy.lower()}` "
        f"(vsmanager {__version__}),",
        f"# for {version}.",
        *install,
        f"# vsmanager must believe this proxy's X-Forwarded-For: {trust_hint(facts)}",
    ]
    return lines


def trust_hint(facts: ProxyFacts) -> str:
    host = upstream_host(facts.upstream)
    if host in ("127.0.0.1", "localhost"):
        wanted = "127.0.0.1"
    elif host == "::1":
        wanted = "::1"
    else:
        return 'trusted_proxies = "<this proxy\'s address, as vsmanager sees it>" in its config.'
    return f'trusted_proxies = "{wanted}" in its config.'


def upstream_host(upstream: str) -> str:
    host = upstream.rpartition(":")[0] if ":" in upstream else upstream
    return host.removeprefix("[").removesuffix("]")


def render_nginx(facts: ProxyFacts) -> str:
    install = [
        "# Save it as /etc/nginx/sites-available/vsmanager, then:",
        "#   ln -s ../sites-available/vsmanager /etc/nginx/sites-enabled/vsmanager",
        "#   nginx -t && systemctl reload nginx",
    ]
    if not facts.tls:
        install.append(f"# No TLS here: `certbot --nginx -d {facts.server_name}` adds it to this server.")
    header_kib = math.ceil(facts.max_header_bytes / 1024)
    forwarded = [
        # $http_host keeps a port other than 443: the origin check compares it with Origin.
        "        proxy_set_header Host $http_host;",
        "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "        proxy_set_header X-Forwarded-Proto $scheme;",
    ]
    lines = [
        *_header("nginx", NGINX_VERSION, facts, install),
        "",
        "# A site file is read inside nginx.conf's http block: these three belong there.",
        "map $http_upgrade $vsmanager_connection {",
        "    default upgrade;",
        "    ''      close;",
        "}",
        "limit_conn_zone $binary_remote_addr zone=vsmanager_clients:10m;",
        "log_format vsmanager_no_query '$remote_addr - $remote_user [$time_local] "
        "\"$request_method $uri $server_protocol\" $status $body_bytes_sent "
        "\"$http_user_agent\" $request_time';",
        "",
        "server {",
    ]
    ssl = " ssl" if facts.tls else ""
    if facts.listen_address is None:
        lines += [f"    listen {facts.listen}{ssl};", f"    listen [::]:{facts.listen}{ssl};"]
    else:
        lines.append(f"    listen {_nginx_address(facts.listen_address)}:{facts.listen}{ssl};")
    lines.append(f"    server_name {facts.server_name};")
    if facts.tls:
        lines += [f"    ssl_certificate {facts.tls_cert};",
                  f"    ssl_certificate_key {facts.tls_key};"]
    lines += [
        "",
        "    # Paths without their query: the console socket's URL carries a ticket.",
        "    access_log " + str(facts.access_log) + " vsmanager_no_query;",
        "    # vsmanager sees every client as this proxy: the per-address caps are the proxy's.",
        f"    limit_conn vsmanager_clients {min(facts.connections_per_client, NGINX_MAX_CONN)};"
        "  # VS_HTTP_MAX_CONNECTIONS_PER_CLIENT",
        f"    client_max_body_size {facts.max_body_bytes};  # VS_HTTP_MAX_BODY_BYTES: 413",
        f"    large_client_header_buffers 4 {header_kib}k;  # VS_HTTP_MAX_HEADER_BYTES",
        "",
        "    location / {",
        f"        proxy_pass http://{facts.upstream};",
        *forwarded,
        "    }",
        "",
        f"    location = {CONSOLE_SOCKET_PATH} {{",
        f"        proxy_pass http://{facts.upstream};",
        "        proxy_http_version 1.1;",
        "        proxy_set_header Upgrade $http_upgrade;",
        "        proxy_set_header Connection $vsmanager_connection;",
        *forwarded,
        f"        proxy_read_timeout {SOCKET_TIMEOUT};",
        f"        proxy_send_timeout {SOCKET_TIMEOUT};",
        "    }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def _nginx_address(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def render_caddy(facts: ProxyFacts) -> str:
    install = [
        "# Add it to /etc/caddy/Caddyfile, then: systemctl reload caddy",
    ]
    address = facts.server_name if facts.listen == 443 else f"{facts.server_name}:{facts.listen}"
    lines = [*_header("Caddy", CADDY_VERSION, facts, install), "", f"{address} {{"]
    if facts.listen_address is not None:
        lines.append(f"\tbind {facts.listen_address}")
    if facts.tls:
        lines.append(f"\ttls {facts.tls_cert} {facts.tls_key}")
    queries = "\n".join(f"\t\t\t\t\tdelete {name}" for name in SECRET_QUERY_PARAMETERS)
    lines += [
        "\tlog {",
        f"\t\toutput file {facts.access_log}",
        "\t\tformat filter {",
        "\t\t\twrap json",
        "\t\t\tfields {",
        "\t\t\t\trequest>headers>X-Api-Key delete",
        "\t\t\t\trequest>uri query {",
        queries,
        "\t\t\t\t}",
        "\t\t\t}",
        "\t\t}",
        "\t}",
        # Caddy 2.6's request_body max_size would turn vsmanager's 413 into a 502: vsmanager
        # refuses oversized bodies itself, before reading them, and its 413 passes through.
        f"\t# Bodies over {facts.max_body_bytes} bytes (VS_HTTP_MAX_BODY_BYTES) get 413 from vsmanager.",
        f"\treverse_proxy {facts.upstream}",
        "}",
    ]
    return "\n".join(lines) + "\n"
