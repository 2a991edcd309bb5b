"""One target's deliveries: a bounded queue and one task that posts its messages in order,
retrying as :mod:`vsmanager.notify.retry` says. Putting a message never waits: a full queue
drops it (logged and counted). Nothing logged holds the URL or the secret."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import structlog

from vsmanager.notify.events import Event
from vsmanager.notify.payloads import render
from vsmanager.notify.retry import RetryRules, judge
from vsmanager.notify.target import Target

log = structlog.get_logger("vsmanager.notify")


@dataclass(slots=True)
class Outcome:
    event: str
    at: str
    delivered: bool
    error: str | None
    tries: int


class TargetWorker:
    def __init__(self, target: Target, client: httpx.AsyncClient, rules: RetryRules, queue_size: int) -> None:
        self.target = target
        self.client = client
        self.rules = rules
        self.queue: asyncio.Queue[Event] = asyncio.Queue(queue_size)
        self.last: Outcome | None = None
        self.last_success: str | None = None
        self.delivered = 0
        self.gave_up = 0
        self.dropped = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"notify-{self.target.name}")

    def put(self, event: Event) -> bool:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("notification_dropped", target=self.target.name, notification_event=event.name,
                        why="queue full", dropped=self.dropped)
            return False
        return True

    async def drain(self, timeout: float) -> None:
        """Give the queue up to ``timeout`` to empty (vsmanager is stopping), then end."""
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self.queue.join(), timeout)
        except TimeoutError:
            pass
        await self.close()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            event = await self.queue.get()
            try:
                await self._deliver(event)
            except Exception:
                log.exception("notification_failed", target=self.target.name)
            finally:
                self.queue.task_done()

    async def _deliver(self, event: Event) -> None:
        body, headers = render(event, self.target)
        first = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            status, error, retry_after = await self._post(body, headers)
            verdict = judge(self.rules, attempt, time.monotonic() - first, status, error, retry_after)
            if verdict.delivered:
                self.delivered += 1
                self.last_success = _now()
                self.last = Outcome(event.name, self.last_success, True, None, attempt)
                return
            if verdict.retry_in is None:
                self.gave_up += 1
                self.last = Outcome(event.name, _now(), False, verdict.reason, attempt)
                log.warning("notification_given_up", target=self.target.name, notification_event=event.name,
                            reason=verdict.reason, tries=attempt)
                return
            self.last = Outcome(event.name, _now(), False, f"{verdict.reason}; retrying", attempt)
            log.info("notification_retry", target=self.target.name, notification_event=event.name,
                     reason=verdict.reason, retry_in=round(verdict.retry_in, 3), tries=attempt)
            await asyncio.sleep(verdict.retry_in)

    async def _post(self, body: bytes, headers: dict[str, str]) -> tuple[int | None, str | None, str | None]:
        try:
            response = await self.client.post(self.target.url, content=body, headers=headers)
        except httpx.TimeoutException:
            return None, "timed out", None
        except httpx.HTTPError as exc:
            # The exception's text may hold the URL: only its kind is kept.
            return None, f"connection failed ({type(exc).__name__})", None
        return response.status_code, None, response.headers.get("Retry-After")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
