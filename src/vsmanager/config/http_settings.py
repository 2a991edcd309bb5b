"""Settings of the HTTP edge's hardening (guard, issue #9): header and body bounds, the
header timeout, connections per client, trusted proxies and allowed origins. See
docs/security.md."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from vsmanager.config.values import parse_networks, parse_origins


class HttpSettings(BaseSettings):
    http_max_header_bytes: int = Field(
        16 * 1024, ge=1024, le=1024 * 1024,
        description="Request line plus headers larger than this get 431 and the connection closed.")
    http_max_body_bytes: int = Field(
        64 * 1024, ge=1024, le=64 * 1024 * 1024,
        description="Request bodies larger than this get 413 before they are read.")
    http_header_timeout: float = Field(
        5.0, gt=0, le=300,
        description="Seconds a client has to send a request's headers; then 408 and closed.")
    http_max_connections_per_client: int = Field(
        32, ge=1, le=100_000,
        description="Open connections per client address (trusted proxies exempt); more get 503.")
    ws_max_connections_per_client: int = Field(
        32, ge=1, le=100_000,
        description="Open console WebSockets per client address (behind a trusted proxy: the "
        "forwarded one); more are closed with 1013.")
    trusted_proxies: str = Field(
        "", description="Addresses or CIDR networks, comma-separated, whose X-Forwarded-For, "
        "X-Real-IP and X-Forwarded-Proto are believed (127.0.0.1 for a proxy on this host).")
    allowed_origins: str = Field(
        "", description="Web origins besides vsmanager's own whose pages may connect, "
        "comma-separated (https://console.example.com).")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        parse_networks(value)
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins_parse(cls, value: str) -> str:
        parse_origins(value)
        return value
