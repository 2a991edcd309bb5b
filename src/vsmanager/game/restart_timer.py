"""The automatic restart the restart policy decided on, armed on the event loop: when it is
due (for the status), and cancelled when someone starts or stops the game by hand."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from vsmanager.game.run import now_iso


class RestartTimer:
    def __init__(self, due: Callable[[], object]) -> None:
        self._due = due
        self._handle: asyncio.TimerHandle | None = None
        self.at: str | None = None  # when it is due, ISO 8601 UTC

    @property
    def pending(self) -> bool:
        return self._handle is not None

    def arm(self, seconds: float) -> None:
        self.cancel()
        self._handle = asyncio.get_running_loop().call_later(seconds, self._fire)
        self.at = now_iso(time.time() + seconds)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
            self.at = None

    def _fire(self) -> None:
        self._handle = None
        self.at = None
        self._due()
