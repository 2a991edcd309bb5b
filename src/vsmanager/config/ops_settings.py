"""Settings of operations: logging (issue #11) and the resource metrics kept for
GET /server/metrics and Prometheus. See docs/operations.md."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings

# Samples of the metrics series kept in memory at most (an hour at 5 s is 720).
MAX_METRICS_SAMPLES = 100_000


class OpsSettings(BaseSettings):
    log_format: Literal["auto", "json", "console"] = Field(
        "auto", description="Log lines as json or console text; auto: console on a terminal, "
        "else json.")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="The least severe level logged; --log-level overrides it.")
    metrics_interval: float = Field(5.0, ge=0.5, le=3600, description="Seconds between resource "
                                    "samples (CPU, memory, threads of the game and vsmanager).")
    metrics_retention: float = Field(3600.0, gt=0, le=7 * 86_400, description="Seconds of resource "
                                     "samples kept in memory for GET /server/metrics.")
    metrics_public: bool = Field(False, description="Let GET /metrics be scraped without a key.")

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _lowercase(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _samples_fit(self) -> Self:
        if self.metrics_retention / self.metrics_interval > MAX_METRICS_SAMPLES:
            raise ValueError(
                f"VS_METRICS_RETENTION / VS_METRICS_INTERVAL must be at most {MAX_METRICS_SAMPLES} "
                "samples, e.g. VS_METRICS_INTERVAL=5 with VS_METRICS_RETENTION=3600"
            )
        return self
