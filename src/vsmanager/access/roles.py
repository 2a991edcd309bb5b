"""Who is asking: a key's name and role, and what each role may do. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    MONITOR = "monitor"


@dataclass(frozen=True, slots=True)
class Identity:
    """The key behind a request: its name (``alice``, or ``admin`` / ``monitor`` for the
    keys from the environment) and the role it grants."""

    name: str
    role: Role


def allows(role: Role, needed: Role) -> bool:
    return role is Role.ADMIN or role is needed
