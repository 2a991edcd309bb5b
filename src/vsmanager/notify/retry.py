"""When to try a delivery again. Pure: timeouts, connection errors and 5xx are retried, the
first after about ``first`` seconds, doubling, at most ``longest`` apart, for up to ``for_s``;
429 waits as its Retry-After says (within the same limits); any other 4xx gives up at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True, slots=True)
class RetryRules:
    first: float = 1.0
    longest: float = 300.0
    for_s: float = 3600.0


@dataclass(frozen=True, slots=True)
class Verdict:
    delivered: bool
    retry_in: float | None  # None: no further try
    reason: str  # what went wrong, for the log and the API


def judge(rules: RetryRules, attempt: int, elapsed: float, status: int | None, error: str | None = None,
          retry_after: str | None = None, now: datetime | None = None) -> Verdict:
    """``attempt`` counts from 1; ``elapsed``: seconds since the first try; ``status`` None
    means no answer (``error`` says why)."""
    if status is not None and 200 <= status < 300:
        return Verdict(True, None, "")
    if status is not None and 300 <= status < 500 and status != 429:
        return Verdict(False, None, f"HTTP {status}: not retried")
    reason = f"HTTP {status}" if status is not None else (error or "no answer")
    wait = min(rules.longest, rules.first * 2 ** (attempt - 1))
    if status == 429:
        asked = retry_after_seconds(retry_after, now)
        wait = min(rules.longest, asked) if asked is not None else wait
    if elapsed + wait > rules.for_s:
        return Verdict(False, None, f"{reason}: gave up after {attempt} tries")
    return Verdict(False, wait, reason)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A Retry-After header's seconds (a number, or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)
