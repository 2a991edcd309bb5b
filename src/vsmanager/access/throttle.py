"""Rate policies, fed with facts and a clock: failed authentications per address, commands
per key, and log lines per second. Pure."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

Clock = Callable[[], float]


class FailureThrottle:
    """More than ``limit`` failures from one address within ``window`` seconds block that
    address for ``cooldown`` seconds, whatever it sends (a right key included)."""

    def __init__(
        self,
        limit: int,
        window: float,
        cooldown: float,
        clock: Clock = time.monotonic,
        max_addresses: int = 10_000,
    ) -> None:
        self.limit = limit
        self.window = window
        self.cooldown = cooldown
        self._clock = clock
        self._max_addresses = max_addresses
        # Least recently failed first, so the addresses forgotten under pressure are the
        # ones that stopped.
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._blocked_until: dict[str, float] = {}

    def retry_after(self, address: str) -> float:
        """Seconds this address must still wait (0: it may try)."""
        until = self._blocked_until.get(address)
        if until is None:
            return 0.0
        remaining = until - self._clock()
        if remaining <= 0:
            del self._blocked_until[address]
            return 0.0
        return remaining

    def record_failure(self, address: str) -> float:
        """Count a failure; the cool-down it starts (0: not blocked)."""
        now = self._clock()
        times = self._failures.pop(address, None) or deque(maxlen=self.limit + 1)
        times.append(now)
        while times and times[0] <= now - self.window:
            times.popleft()
        self._failures[address] = times
        while len(self._failures) > self._max_addresses:
            self._failures.popitem(last=False)
        if len(times) > self.limit:
            times.clear()
            self._blocked_until[address] = now + self.cooldown
            self._forget_expired_blocks(now)
            return self.cooldown
        return 0.0

    def _forget_expired_blocks(self, now: float) -> None:
        if len(self._blocked_until) > self._max_addresses:
            for address in [a for a, until in self._blocked_until.items() if until <= now]:
                del self._blocked_until[address]


class TokenBucket:
    """``burst`` actions at once, then ``rate`` per second."""

    def __init__(self, burst: float, rate: float, clock: Clock = time.monotonic) -> None:
        self.burst = burst
        self.rate = rate
        self._clock = clock
        self._tokens = burst
        self._at = clock()

    def take(self) -> float:
        """Take one token: 0 if allowed, else the seconds until one is there."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate


class CommandLimiter:
    """One token bucket per key name."""

    def __init__(self, burst: int, rate: float, clock: Clock = time.monotonic) -> None:
        self.burst = burst
        self.rate = rate
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, name: str) -> float:
        bucket = self._buckets.get(name)
        if bucket is None:
            bucket = self._buckets[name] = TokenBucket(self.burst, self.rate, self._clock)
        return bucket.take()

    def forget(self, names: set[str]) -> None:
        for name in names:
            self._buckets.pop(name, None)


class LogBudget:
    """At most ``burst`` log lines at once and ``rate`` a second; counts what it held back,
    so the next line that is written can say how many were not."""

    def __init__(self, burst: float, rate: float, clock: Clock = time.monotonic) -> None:
        self._bucket = TokenBucket(burst, rate, clock)
        self.suppressed = 0

    def allow(self) -> int | None:
        """None: do not log. Otherwise the number of lines suppressed since the last one."""
        if self._bucket.take() > 0:
            self.suppressed += 1
            return None
        held, self.suppressed = self.suppressed, 0
        return held
