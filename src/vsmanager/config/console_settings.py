"""Settings of the console path: the buffer and its lines, the WebSocket clients that read
it, and the commands written to the game. See docs/streaming.md."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings

from vsmanager.config.fields import PositiveSeconds


class ConsoleSettings(BaseSettings):
    # The console buffer.
    console_buffer_lines: int = Field(10_000, ge=10, le=1_000_000)
    console_buffer_bytes: int = Field(16 * 1024 * 1024, ge=64 * 1024, le=4 * 1024**3)
    console_history_lines: int = Field(100, ge=0, le=10_000_000)
    console_max_line_bytes: int = Field(16 * 1024, ge=64, le=1024 * 1024)
    console_partial_flush_s: float = Field(0.5, gt=0, le=1.0)

    # WebSocket clients.
    ws_send_timeout: PositiveSeconds = 10.0
    ws_max_message_bytes: int = Field(64 * 1024, ge=1024, le=16 * 1024 * 1024)
    ws_frames_per_second: int = Field(5_000, ge=100, le=10_000_000)
    ws_max_batch_lines: int = Field(1_000, ge=1, le=100_000)
    ws_compression: bool = False
    ws_ping_interval: PositiveSeconds = 20.0

    # Console commands.
    command_max_chars: int = Field(1_000, ge=1, le=1_000)
    command_write_timeout: PositiveSeconds = 2.0

    @model_validator(mode="after")
    def _buffer_holds_lines(self) -> Self:
        if self.console_max_line_bytes * 4 > self.console_buffer_bytes:
            raise ValueError(
                "VS_CONSOLE_BUFFER_BYTES must hold at least four of the longest lines "
                "(4 x VS_CONSOLE_MAX_LINE_BYTES)"
            )
        return self
