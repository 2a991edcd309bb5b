"""Settings of the HTTP edge's second round (issue #16): the send timeout, the Host allow-list
and the access log's bounds. See docs/security.md."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from vsmanager.config.values import parse_hosts


class EdgeSettings(BaseSettings):
    http_send_timeout: float = Field(
        10.0, gt=0, le=3600,
        description="Seconds an HTTP response may go without draining to its client (a client "
        "that stopped reading); then the connection is reset.")
    allowed_hosts: str = Field(
        "", description="Host names, comma-separated, that requests may name in Host besides "
        "localhost and IP addresses (vs.example.com behind a proxy); * allows any. Others get 421.")
    log_requests_per_client: int = Field(
        60, ge=0, le=1_000_000,
        description="HTTP request lines logged per client address per minute; the rest are "
        "counted in one http_requests_suppressed line a minute.")
    log_max_path_chars: int = Field(
        256, ge=32, le=65_536,
        description="A request path longer than this is cut in its log line.")

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts_parse(cls, value: str) -> str:
        parse_hosts(value)
        return value
