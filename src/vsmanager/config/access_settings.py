"""Settings of who may do what: the keys (given, or read from files), the named keys file,
the audit log, WebSocket tickets and throttling. See docs/security.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings

from vsmanager.config.fields import ENV_PREFIX, PositiveSeconds
from vsmanager.config.values import weak_key_reason

_GENERATE = "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(24))')"


class AccessSettings(BaseSettings):
    # Keys: Admin can do everything; Monitor only reads the server status.
    api_key_admin: SecretStr | None = None
    api_key_monitor: SecretStr | None = None

    # Keys read from files (install): a file holding the key, instead of the key itself.
    api_key_admin_file: Path | None = None
    api_key_monitor_file: Path | None = None

    # Named keys, tickets, throttling and the audit log (keys; see docs/security.md).
    keys_file: Path | None = Field(None, description=(
        "The named keys file (JSON, hashes only; edit it with `vsmanager keys`), re-read when it "
        "changes and on SIGHUP."))
    audit_log: Path | None = Field(None, description=(
        "Also write the audit trail (auth failures, commands, lifecycle actions, key changes) to "
        "this JSON-lines file, mode 0600."))
    ws_ticket_ttl: int = Field(30, ge=1, le=3600, description=(
        "Seconds a WebSocket ticket stays valid; each is good for one connection."))
    ws_tickets_per_key: int = Field(16, ge=1, le=10_000, description=(
        "Tickets one key may have outstanding; one more retires its oldest."))
    auth_failure_limit: int = Field(20, ge=1, le=1_000_000, description=(
        "Failed authentications one address may make within the window before its cool-down."))
    auth_failure_window: PositiveSeconds = Field(60.0, description=(
        "Seconds over which failed authentications are counted."))
    auth_cooldown: float = Field(60.0, ge=1, le=86_400, description=(
        "Seconds an address over the limit is refused (429 / close 4029), whatever key it sends."))
    command_burst: int = Field(20, ge=1, le=1_000_000, description=(
        "Commands one key may send at once, before the steady rate applies."))
    command_rate: float = Field(5.0, gt=0, le=1_000_000, description=(
        "Commands per second one key may send after the burst; beyond: 429 / rate_limited."))

    @field_validator("api_key_admin", "api_key_monitor", "keys_file", "audit_log", mode="before")
    @classmethod
    def _empty_means_unset(cls, value: object) -> object:
        # VS_API_KEY_MONITOR= in an env file means "no monitor key", not "a short key".
        return None if value == "" else value

    @field_validator("api_key_admin_file", "api_key_monitor_file", mode="before")
    @classmethod
    def _empty_file_means_unset(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="before")
    @classmethod
    def _keys_from_files(cls, data: Any) -> Any:
        # Before the fields are validated, so a key read from a file meets every check a key
        # from the environment meets (length, admin and monitor different).
        if not isinstance(data, dict):
            return data
        for role in ("admin", "monitor"):
            path = data.get(f"api_key_{role}_file")
            if path in (None, ""):
                continue
            variable = f"{ENV_PREFIX}API_KEY_{role.upper()}"
            if data.get(f"api_key_{role}") not in (None, ""):
                raise ValueError(f"set {variable} or {variable}_FILE, not both")
            data[f"api_key_{role}"] = _read_key_file(Path(str(path)), f"{variable}_FILE")
        return data

    @field_validator("api_key_admin", "api_key_monitor")
    @classmethod
    def _key_long_enough(cls, key: SecretStr | None) -> SecretStr | None:
        reason = None if key is None else weak_key_reason(key.get_secret_value())
        if reason is not None:
            raise ValueError(f"{reason} {_GENERATE}")
        return key

    @model_validator(mode="after")
    def _keys_differ(self) -> Self:
        keys = (self.api_key_admin, self.api_key_monitor)
        if keys[0] and keys[1] and keys[0].get_secret_value() == keys[1].get_secret_value():
            raise ValueError("VS_API_KEY_MONITOR must differ from VS_API_KEY_ADMIN")
        return self

    def secret_values(self) -> list[str]:
        return [k.get_secret_value() for k in (self.api_key_admin, self.api_key_monitor) if k]


def _read_key_file(path: Path, variable: str) -> str:
    try:
        key = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ValueError(f"{variable}: cannot read the key from {path} ({reason})") from None
    # Checked here, not only by the key's own validator, so the message names the file.
    reason = weak_key_reason(key)
    if reason is not None:
        raise ValueError(f"{variable}: the key in {path} {reason} {_GENERATE}")
    return key
