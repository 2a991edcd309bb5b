"""Checks of single setting values that several concerns share: key strength, networks,
host names and origins. Pure: each takes text and answers, raising ``ValueError`` that names
what is wrong."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MIN_KEY_LENGTH = 16
MIN_DISTINCT_CHARACTERS = 8
_DEFAULT_PORTS = {"http": 80, "https": 443}


def weak_key_reason(key: str) -> str | None:
    """Why ``key`` may not be used, or None if it is acceptable. Never includes the key."""
    if not all("\x21" <= c <= "\x7e" for c in key):
        return "must be printable ASCII without spaces or other whitespace"
    if len(key) < MIN_KEY_LENGTH:
        return f"must be at least {MIN_KEY_LENGTH} characters"
    if len(set(key)) < MIN_DISTINCT_CHARACTERS:
        return f"is too weak: it needs at least {MIN_DISTINCT_CHARACTERS} different characters"
    return None


def parse_networks(text: str) -> tuple[Network, ...]:
    """``"127.0.0.1, 10.0.0.0/8, ::1"`` → networks; a bad entry raises naming it."""
    networks = []
    for item in text.replace(";", ",").split(","):
        item = item.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(
                f"{item!r} is not an address or CIDR network (e.g. 127.0.0.1 or 10.0.0.0/8)"
            ) from None
    return tuple(networks)


def normalize_origin(text: str) -> str | None:
    """``scheme://host[:port]`` in lower case with default ports dropped; None if not one."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host or parts.path not in ("", "/") or parts.query:
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def parse_origins(text: str) -> frozenset[str]:
    origins = set()
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        origin = normalize_origin(item)
        if origin is None:
            raise ValueError(f"{item!r} is not an origin (e.g. https://console.example.com)")
        origins.add(origin)
    return frozenset(origins)


_HOST_NAME = re.compile(r"(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*")


def parse_hosts(text: str) -> frozenset[str]:
    """``"vs.example.com, *.lan"`` → lower-case names without a trailing dot; ``*`` is any
    name; a bad entry (a port, a URL) raises naming it."""
    hosts = set()
    for item in text.split(","):
        name = item.strip().lower().rstrip(".")
        if not name:
            continue
        if name != "*" and not _HOST_NAME.fullmatch(name):
            raise ValueError(f"{item.strip()!r} is not a host name (e.g. vs.example.com or *.example.com, "
                             "without scheme or port)")
        hosts.add(name)
    return frozenset(hosts)
