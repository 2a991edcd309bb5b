"""Which key a client holds: the keys from the environment and the keys file, looked up by
their SHA-256 in constant time, and re-read when the file changes."""

from __future__ import annotations

import hmac
from pathlib import Path

from vsmanager.access.keys import KeyRecord, hash_key, is_usable_candidate, read_keys_file
from vsmanager.access.roles import Identity, Role, allows
from vsmanager.config.settings import Settings

__all__ = ["Identity", "KeyRing", "Role", "allows"]


class KeyRing:
    """The keys in force: ``admin`` and ``monitor`` from the environment, plus the file's."""

    def __init__(self, settings: Settings, file_records: list[KeyRecord] | None = None) -> None:
        self.path: Path | None = settings.keys_file
        self._env: list[tuple[bytes, Identity]] = []
        if settings.api_key_admin is not None:
            self._env.append((hash_key(settings.api_key_admin.get_secret_value()),
                              Identity(Role.ADMIN.value, Role.ADMIN)))
        if settings.api_key_monitor is not None:
            self._env.append((hash_key(settings.api_key_monitor.get_secret_value()),
                              Identity(Role.MONITOR.value, Role.MONITOR)))
        self._keys: list[tuple[bytes, Identity]] = []
        if file_records is None and self.path is not None:
            file_records = read_keys_file(self.path)
        self._set(file_records or [])

    @property
    def names(self) -> dict[str, Identity]:
        return {identity.name: identity for _, identity in self._keys}

    def identify(self, key: str | None) -> Identity | None:
        """The identity a key belongs to, or None for a missing or unknown key."""
        if not key or not is_usable_candidate(key):
            # Headers reach us decoded as latin-1 and query values as UTF-8: anything that
            # cannot be a key fails here, before hashing, and never raises.
            return None
        candidate = hash_key(key)
        found: Identity | None = None
        for digest, identity in self._keys:
            # Compare against every key, so timing does not reveal which one matched.
            if hmac.compare_digest(candidate, digest):
                found = identity
        return found

    def role_for(self, key: str | None) -> Role | None:
        identity = self.identify(key)
        return identity.role if identity else None

    def reload(self) -> tuple[set[str], set[str]]:
        """Re-read the keys file; return the names (added, revoked). A name is revoked when
        it is gone, or its key or role changed: what it authenticated no longer holds.
        Raises :class:`~vsmanager.keys.KeysFileError` and keeps the old keys if the file is bad."""
        if self.path is None:
            return set(), set()
        return self.replace(read_keys_file(self.path))

    def replace(self, records: list[KeyRecord]) -> tuple[set[str], set[str]]:
        before = {identity.name: (digest, identity.role) for digest, identity in self._keys}
        self._set(records)
        after = {identity.name: (digest, identity.role) for digest, identity in self._keys}
        added = {name for name in after if name not in before}
        revoked = {name for name, entry in before.items() if after.get(name) != entry}
        return added, revoked

    def _set(self, records: list[KeyRecord]) -> None:
        env_names = {identity.name for _, identity in self._env}
        keys = list(self._env)
        keys += [(r.digest, Identity(r.name, r.role)) for r in records if r.name not in env_names]
        self._keys = keys
        self._digests = frozenset(digest for digest, _ in keys)

    def digests(self) -> frozenset[bytes]:
        """The SHA-256 of every key in force: what redaction looks for in logs."""
        return self._digests
