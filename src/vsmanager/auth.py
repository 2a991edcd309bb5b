"""API keys and roles: one check shared by HTTP routes and the WebSocket."""

from __future__ import annotations

import hmac
from enum import StrEnum

from vsmanager.settings import Settings


class Role(StrEnum):
    ADMIN = "admin"
    MONITOR = "monitor"


class KeyRing:
    """The configured keys, compared in constant time."""

    def __init__(self, settings: Settings) -> None:
        self._keys: list[tuple[bytes, Role]] = []
        if settings.api_key_admin is not None:
            self._keys.append((settings.api_key_admin.get_secret_value().encode(), Role.ADMIN))
        if settings.api_key_monitor is not None:
            self._keys.append((settings.api_key_monitor.get_secret_value().encode(), Role.MONITOR))

    def role_for(self, key: str | None) -> Role | None:
        """The role a key grants, or None for a missing or unknown key."""
        if not key:
            return None
        # Headers reach us decoded as latin-1 and query values as UTF-8; any character
        # at all must simply fail to match, never raise.
        candidate = key.encode("utf-8", "surrogatepass")
        found: Role | None = None
        for secret, role in self._keys:
            # Compare against every key, so timing does not reveal which one matched.
            if hmac.compare_digest(candidate, secret):
                found = role
        return found


def allows(role: Role, needed: Role) -> bool:
    return role is Role.ADMIN or role is needed
