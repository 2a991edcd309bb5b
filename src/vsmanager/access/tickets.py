"""WebSocket tickets: short-lived, single-use stand-ins for a key in a socket's URL. Pure.

A browser cannot set headers on a WebSocket, and URLs end up in proxy logs; a ticket in the
URL is worth nothing once used or a few seconds old.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from vsmanager.access.roles import Identity


@dataclass(frozen=True, slots=True)
class _Ticket:
    identity: Identity
    expires: float


class TicketBook:
    """Outstanding tickets, at most ``per_key`` per key name (issuing one more retires that
    key's oldest), so no client can grow the book without bound."""

    def __init__(self, ttl: float, per_key: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.per_key = per_key
        self._clock = clock
        # By the ticket's SHA-256, oldest first: the dict lookup touches only a digest of
        # what the client sent, never a secret.
        self._tickets: OrderedDict[bytes, _Ticket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._tickets)

    def issue(self, identity: Identity) -> str:
        self._drop_expired()
        mine = [k for k, t in self._tickets.items() if t.identity.name == identity.name]
        for digest in mine[: max(0, len(mine) - self.per_key + 1)]:
            del self._tickets[digest]
        ticket = secrets.token_urlsafe(24)
        self._tickets[_digest(ticket)] = _Ticket(identity, self._clock() + self.ttl)
        return ticket

    def redeem(self, ticket: str | None) -> Identity | None:
        """The identity a ticket was issued to, once; None if unknown, used or expired."""
        if not ticket or len(ticket) > 256:
            return None
        entry = self._tickets.pop(_digest(ticket), None)
        if entry is None or self._clock() >= entry.expires:
            return None
        return entry.identity

    def revoke(self, names: Iterable[str]) -> int:
        """Forget every ticket of these key names; the number forgotten."""
        gone = set(names)
        doomed = [k for k, t in self._tickets.items() if t.identity.name in gone]
        for digest in doomed:
            del self._tickets[digest]
        return len(doomed)

    def _drop_expired(self) -> None:
        now = self._clock()
        while self._tickets:
            digest, oldest = next(iter(self._tickets.items()))
            # Issued in order with one ttl, so expiry times are in order too.
            if oldest.expires > now:
                break
            del self._tickets[digest]


def _digest(ticket: str) -> bytes:
    return hashlib.sha256(ticket.encode("utf-8", "surrogatepass")).digest()
