"""Which names a request may give in ``Host``: the defence against DNS rebinding.

A page on ``evil.example`` can make its own name resolve to 127.0.0.1 (or to any address
the victim's browser reaches) and then talk to vsmanager as if from its own origin: the
browser sends ``Host: evil.example:PORT`` and ``Origin: http://evil.example:PORT``, which
the origin check takes for the page's own. What gives it away is the name. So a request
is served only when ``Host`` (without its port) is:

- an IP address, any: a browser sends one only for a page loaded from that very address,
  which is vsmanager's own origin, not a rebound one (this also admits the machine's own
  addresses when vsmanager listens on 0.0.0.0 or ::);
- ``localhost``, or the name vsmanager was told to listen on;
- a name in ``VS_ALLOWED_HOSTS`` (``*.example.com`` for its subdomains, ``*`` for any).

Behind a trusted proxy every name in ``X-Forwarded-Host`` must be allowed too.
A request without ``Host`` (HTTP/1.0) is not a browser's and passes. Pure: no I/O.
"""

from __future__ import annotations

import ipaddress

LOCAL_NAMES = frozenset({"localhost"})


def host_name(header: str) -> str:
    """``Host`` without its port, in lower case, brackets and a trailing dot removed."""
    text = header.strip().lower()
    if text.startswith("["):
        return text[1:].split("]", 1)[0]
    if text.count(":") == 1:
        text = text.split(":", 1)[0]
    return text.rstrip(".")


def is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostPolicy:
    """``allowed``: names from VS_ALLOWED_HOSTS (``*``, ``*.suffix``, exact); ``listen``:
    the address or name vsmanager listens on."""

    def __init__(self, allowed: frozenset[str], listen: str | None = None) -> None:
        self.any = "*" in allowed
        self.names = {name for name in allowed if not name.startswith("*")} | LOCAL_NAMES
        self.suffixes = tuple(name[1:] for name in allowed if name.startswith("*."))
        if listen:
            self.names.add(host_name(listen))

    def allows(self, header: str | None) -> bool:
        if header is None or self.any:
            return True
        name = host_name(header)
        if not name:
            return True  # an empty Host: a request without an authority, no browser's
        if name in self.names or is_address(name):
            return True
        return name.endswith(self.suffixes) if self.suffixes else False
