"""``vsmanager proxy-config nginx|caddy``: print a reverse-proxy configuration that fits the
settings in force (see ``proxy_config`` for the configurations themselves)."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path

from vsmanager.config.settings import Settings, load_settings
from vsmanager.config.values import parse_networks
from vsmanager.setup import proxy_config
from vsmanager.setup.proxy_config import DEFAULT_UPSTREAM, ProxyFacts

EXIT_USAGE = 2
ACCESS_LOGS = {"nginx": "/var/log/nginx/vsmanager.access.log",
               "caddy": "/var/log/caddy/vsmanager.access.log"}


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "proxy-config", help="print an nginx or Caddy configuration for vsmanager",
        description="Print a reverse-proxy configuration for vsmanager that fits the settings in "
        "force: for nginx a site file for sites-available/, for Caddy a Caddyfile site block. "
        f"For {proxy_config.NGINX_VERSION} and {proxy_config.CADDY_VERSION}.",
    )
    parser.add_argument("proxy", choices=["nginx", "caddy"], help="which proxy")
    parser.add_argument("--config", type=Path, metavar="PATH",
                        help="vsmanager's TOML config file (default $VS_CONFIG, else none)")
    parser.add_argument("--server-name", default="vs.example.com", metavar="NAME",
                        help="the name browsers use (default vs.example.com)")
    parser.add_argument("--listen", metavar="[ADDRESS:]PORT",
                        help="where the proxy listens (default 443 with TLS, nginx without: 80)")
    parser.add_argument("--upstream", default=DEFAULT_UPSTREAM, metavar="HOST:PORT",
                        help=f"where vsmanager listens (default {DEFAULT_UPSTREAM}, as the "
                        "systemd unit serves)")
    parser.add_argument("--tls-cert", type=Path, metavar="FILE", help="certificate chain (PEM)")
    parser.add_argument("--tls-key", type=Path, metavar="FILE", help="its private key (PEM)")
    parser.add_argument("--access-log", type=Path, metavar="FILE",
                        help="the proxy's access log (default under /var/log/<proxy>/)")
    parser.set_defaults(handler=run_proxy_config)


def run_proxy_config(args: argparse.Namespace) -> int:
    if (args.tls_cert is None) != (args.tls_key is None):
        return _usage("give --tls-cert and --tls-key together")
    try:
        address, port = _listen(args.listen, args.proxy, args.tls_cert is not None)
        _check_upstream(args.upstream)
    except ValueError as exc:
        return _usage(str(exc))
    if any(c.isspace() or c in ";{}#'\"" for c in args.server_name) or not args.server_name:
        return _usage(f"--server-name {args.server_name!r} is not a host name")
    settings = load_settings(config=args.config)
    facts = ProxyFacts(
        server_name=args.server_name,
        listen=port,
        listen_address=address,
        upstream=args.upstream,
        max_body_bytes=settings.http_max_body_bytes,
        max_header_bytes=settings.http_max_header_bytes,
        connections_per_client=settings.http_max_connections_per_client,
        access_log=args.access_log or Path(ACCESS_LOGS[args.proxy]),
        tls_cert=args.tls_cert.absolute() if args.tls_cert else None,
        tls_key=args.tls_key.absolute() if args.tls_key else None,
    )
    for warning in warnings(facts, settings, args.proxy):
        print(f"vsmanager: warning: {warning}", file=sys.stderr)
    sys.stdout.write(proxy_config.render(args.proxy, facts))
    return 0


def warnings(facts: ProxyFacts, settings: Settings, proxy: str) -> list[str]:
    found = []
    host = proxy_config.upstream_host(facts.upstream)
    proxy_address = {"127.0.0.1": "127.0.0.1", "localhost": "127.0.0.1", "::1": "::1"}.get(host)
    if proxy_address is not None:
        address = ipaddress.ip_address(proxy_address)
        if not any(address in network for network in parse_networks(settings.trusted_proxies)):
            found.append(f"trusted_proxies does not hold {proxy_address}: vsmanager will see "
                         f"every client as the proxy; set trusted_proxies = \"{proxy_address}\" "
                         "in its config file")
    if not facts.tls and proxy == "nginx":
        found.append("no TLS: keys would cross the network in clear; add it (certbot --nginx) "
                     "or pass --tls-cert and --tls-key")
    return found


def _listen(text: str | None, proxy: str, tls: bool) -> tuple[str | None, int]:
    if text is None:
        return None, proxy_config.default_listen(proxy == "caddy", tls)
    address, _, port = text.rpartition(":")
    if not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"--listen {text!r}: expected PORT or ADDRESS:PORT")
    address = address.removeprefix("[").removesuffix("]")
    if address:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise ValueError(f"--listen {text!r}: {address!r} is not an IP address") from None
    return address or None, int(port)


def _check_upstream(upstream: str) -> None:
    host, _, port = upstream.rpartition(":")
    if not host or not (port.isascii() and port.isdigit() and 0 < int(port) < 65536) or any(
        c.isspace() or c in ";{}#/'\"" for c in host
    ):
        raise ValueError(f"--upstream {upstream!r}: expected HOST:PORT (e.g. {DEFAULT_UPSTREAM})")


def _usage(message: str) -> int:
    print(f"vsmanager proxy-config: {message}", file=sys.stderr)
    return EXIT_USAGE
