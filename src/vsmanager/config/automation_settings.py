"""Settings of schedules and notifications (docs/automation.md)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings


class AutomationSettings(BaseSettings):
    schedules_file: Path | None = Field(None, description=(
        "The schedules file (TOML, or JSON by its .json suffix): restarts, stops, starts and "
        "commands on a cron expression or an interval; re-read when it changes. Its runs are kept "
        "in a .state.json file beside it."))
    notifications_file: Path | None = Field(None, description=(
        "The notifications file (TOML or JSON): Discord, Slack and webhook targets and the events "
        "each gets; re-read when it changes."))
    notify_queue_size: int = Field(1_000, ge=1, le=1_000_000, description=(
        "Messages waiting per target at most; one more is dropped (logged and counted)."))
    notify_timeout: float = Field(10.0, gt=0, le=300, description=(
        "Seconds one delivery may take before it counts as failed and is retried."))
    notify_retry_delay: float = Field(1.0, gt=0, le=3_600, description=(
        "Seconds before the first retry of a failed delivery; the delay doubles with each retry."))
    notify_retry_max_delay: float = Field(300.0, gt=0, le=86_400, description=(
        "The longest wait between two tries of one delivery."))
    notify_retry_for: float = Field(3_600.0, gt=0, le=7 * 86_400, description=(
        "Seconds a delivery is retried before it is given up (logged and counted)."))

    @field_validator("schedules_file", "notifications_file", mode="before")
    @classmethod
    def _empty_path_means_unset(cls, value: object) -> object:
        return None if value == "" else value
