"""Named API keys: what a key must look like, its hash, and the keys file.

The keys file holds, for each key, its name, role, creation time and the SHA-256 of the key,
never the key itself. It is JSON whatever its name::

    {"version": 1, "keys": [
      {"name": "alice", "role": "admin", "created": "2026-12-01T22:00:00Z",
       "sha256": "<64 hex digits>"}]}
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from vsmanager.access.roles import Role
from vsmanager.config.values import MIN_KEY_LENGTH, weak_key_reason

FILE_VERSION = 1
# Names of the keys from VS_API_KEY_ADMIN / VS_API_KEY_MONITOR; the file cannot reuse them.
RESERVED_NAMES = frozenset({Role.ADMIN.value, Role.MONITOR.value})
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


class KeysFileError(ValueError):
    """A keys file that cannot be used; the message names the file and what is wrong."""


def is_usable_candidate(key: str) -> bool:
    """Could ``key`` be any key at all? A cheap test before hashing what a client sent."""
    return MIN_KEY_LENGTH <= len(key) <= 1024 and key.isascii() and key.isprintable() and " " not in key


def generate_key() -> str:
    return secrets.token_urlsafe(24)


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode("ascii")).digest()


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise KeysFileError(
            f"key name {name[:80]!r} must be 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (e.g. alice)"
        )
    if name in RESERVED_NAMES:
        raise KeysFileError(
            f"key name {name!r} is reserved for the key in VS_API_KEY_{name.upper()}; choose another"
        )
    return name


@dataclass(frozen=True, slots=True)
class KeyRecord:
    name: str
    role: Role
    created: str
    digest: bytes  # SHA-256 of the key

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "role": self.role.value, "created": self.created,
                "sha256": self.digest.hex()}


def new_record(name: str, role: Role, key: str) -> KeyRecord:
    reason = weak_key_reason(key)
    if reason is not None:
        raise KeysFileError(f"the key {reason}")
    created = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return KeyRecord(check_name(name), role, created, hash_key(key))


def parse_keys(text: str, source: str) -> list[KeyRecord]:
    """The records of a keys file's text; :class:`KeysFileError` naming ``source`` if bad."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise KeysFileError(f"{source}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("version") != FILE_VERSION:
        raise KeysFileError(f'{source}: expected {{"version": {FILE_VERSION}, "keys": [...]}}')
    entries = data.get("keys")
    if not isinstance(entries, list):
        raise KeysFileError(f'{source}: "keys" must be a list')
    records: list[KeyRecord] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"{source}: keys[{index}]"
        if not isinstance(entry, dict):
            raise KeysFileError(f"{where} must be an object")
        name, role, created, digest = (entry.get(k) for k in ("name", "role", "created", "sha256"))
        if not isinstance(name, str):
            raise KeysFileError(f'{where}: "name" must be a string')
        try:
            check_name(name)
        except KeysFileError as exc:
            raise KeysFileError(f"{where}: {exc}") from None
        if name in seen:
            raise KeysFileError(f"{where}: the name {name!r} appears twice")
        seen.add(name)
        if role not in (Role.ADMIN.value, Role.MONITOR.value):
            raise KeysFileError(f'{where}: "role" must be "admin" or "monitor"')
        if not isinstance(digest, str) or not _HEX_DIGEST.fullmatch(digest):
            raise KeysFileError(f'{where}: "sha256" must be 64 lowercase hex digits')
        records.append(KeyRecord(name, Role(role), str(created or ""), bytes.fromhex(digest)))
    return records


def dump_keys(records: list[KeyRecord]) -> str:
    body = {"version": FILE_VERSION, "keys": [r.as_dict() for r in records]}
    return json.dumps(body, indent=2) + "\n"


def read_keys_file(path: Path) -> list[KeyRecord]:
    """The file's records; a missing file holds no keys."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise KeysFileError(f"{path}: cannot be read ({exc})") from None
    return parse_keys(text, str(path))


def write_keys_file(path: Path, records: list[KeyRecord]) -> None:
    """Replace the file in one step (a reader sees the old or the new file, never half),
    readable by its owner only."""
    directory = path.parent if str(path.parent) else Path(".")
    # mkstemp creates the file 0600, so the hashes are never readable by others.
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(dump_keys(records))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
