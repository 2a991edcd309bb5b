"""The one door for HTTP and WebSocket clients: keys and tickets, the failure throttle,
the command rate, revocation, and what of it goes into the audit log."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator

import structlog

from vsmanager.access.audit import AuditLog
from vsmanager.access.auth import KeyRing
from vsmanager.access.keys import KeysFileError
from vsmanager.access.roles import Identity, Role, allows
from vsmanager.access.throttle import Clock, CommandLimiter, FailureThrottle, LogBudget
from vsmanager.access.tickets import TicketBook
from vsmanager.config.settings import Settings
from vsmanager.console.commands import CommandRefused

log = structlog.get_logger("vsmanager.auth")

WS_4001_UNAUTHORIZED = 4001
WS_4003_FORBIDDEN = 4003
WS_4029_TOO_MANY_FAILURES = 4029
REVOKED_REASON = "key revoked"

# Failure warnings (and their audit records): a burst, then a few a second whatever the
# flood, each written line counting the ones held back.
_FAILURE_LOG_BURST = 50
_FAILURE_LOG_RATE = 5.0


class AuthRefused(Exception):
    """A client the door does not let through; carries both transports' answers."""

    def __init__(self, status: int, code: str, message: str, close_code: int,
                 retry_after: float | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.close_code = close_code
        self.reason = reason or message  # for a close frame: at most 123 bytes
        self.retry_after = None if retry_after is None else max(1, math.ceil(retry_after))


class CommandRateLimited(CommandRefused):
    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__("rate_limited", f"too many commands; try again in {self.retry_after} s")


class Gatekeeper:
    def __init__(self, settings: Settings, keyring: KeyRing, audit: AuditLog,
                 clock: Clock = time.monotonic) -> None:
        self.keyring = keyring
        self.audit = audit
        self.tickets = TicketBook(settings.ws_ticket_ttl, settings.ws_tickets_per_key, clock)
        self.throttle = FailureThrottle(settings.auth_failure_limit, settings.auth_failure_window,
                                        settings.auth_cooldown, clock)
        self.commands = CommandLimiter(settings.command_burst, settings.command_rate, clock)
        self._failure_log = LogBudget(_FAILURE_LOG_BURST, _FAILURE_LOG_RATE, clock)
        self._revocations: dict[str, set[Callable[[], None]]] = {}

    # -- who is it -------------------------------------------------------------------------

    def authenticate(self, address: str, client: str, *, key: str | None = None,
                     ticket: str | None = None) -> Identity:
        """The identity behind a key or a ticket from ``address`` (the host, for the
        throttle; ``client`` is host:port, for the log). Raises :class:`AuthRefused`."""
        wait = self.throttle.retry_after(address)
        if wait > 0:
            raise _too_many(wait)
        if ticket is not None:
            identity = self.tickets.redeem(ticket)
            reason = "unknown, used or expired ticket"
        else:
            identity = self.keyring.identify(key)
            reason = "invalid key" if key else "missing key"
        if identity is not None:
            return identity
        if key or ticket is not None:
            # Only a credential that was wrong counts: a client without one guesses nothing.
            wait = self.throttle.record_failure(address)
        self._log_failure(client, address, reason, blocked=wait > 0)
        if wait > 0:
            raise _too_many(wait)
        hint = "send a key in the X-API-Key header or as Authorization: Bearer"
        raise AuthRefused(401, "unauthorized", f"{reason}: {hint}", WS_4001_UNAUTHORIZED,
                          reason=reason)

    def authorize(self, identity: Identity, needed: Role, what: str = "this") -> None:
        if not allows(identity.role, needed):
            raise AuthRefused(403, "forbidden", f"{what} needs the {needed.value} role",
                              WS_4003_FORBIDDEN)

    def take_command(self, identity: Identity) -> None:
        """Count one command against the key's rate; raises :class:`CommandRateLimited`."""
        wait = self.commands.take(identity.name)
        if wait > 0:
            raise CommandRateLimited(wait)

    def _log_failure(self, client: str, address: str, reason: str, blocked: bool) -> None:
        held = self._failure_log.allow()
        if held is None:
            return
        extra = {"suppressed": held} if held else {}
        log.warning("auth_failed", client=client, reason=reason, **extra)
        # One line in the log (this warning); the audit file keeps its own record.
        self.audit.record("auth_failed", logged=True, client=client, reason=reason, **extra)
        if blocked:
            log.warning("auth_throttled", address=address, cooldown_s=self.throttle.cooldown,
                        failures=self.throttle.limit + 1, window_s=self.throttle.window)

    # -- revocation ------------------------------------------------------------------------

    def reload(self, why: str) -> set[str]:
        """Re-read the keys file; revoke what changed. Returns the revoked names."""
        try:
            added, revoked = self.keyring.reload()
        except KeysFileError as exc:
            log.error("keys_file_invalid", error=str(exc), kept="the keys loaded before")
            return set()
        if added or revoked:
            log.info("keys_reloaded", why=why, added=sorted(added), revoked=sorted(revoked),
                     keys=len(self.keyring.names))
            self.audit.record("keys_reloaded", why=why, added=sorted(added), revoked=sorted(revoked))
        else:
            log.info("keys_unchanged", why=why, keys_file=str(self.keyring.path or "none"),
                     keys=len(self.keyring.names))
        self.revoke(revoked)
        return revoked

    def revoke(self, names: set[str]) -> None:
        if not names:
            return
        self.tickets.revoke(names)
        self.commands.forget(names)
        for name in names:
            for on_revoked in list(self._revocations.get(name, ())):
                on_revoked()

    @contextlib.contextmanager
    def revocation(self, identity: Identity, on_revoked: Callable[[], None]) -> Iterator[None]:
        """Call ``on_revoked`` if this identity's key is revoked while the block runs.

        A callback, not an event to wait on: a console socket would need a task per
        connection to wait for it (see docs/benchmarks.md, memory per idle connection).
        """
        self._revocations.setdefault(identity.name, set()).add(on_revoked)
        try:
            yield
        finally:
            callbacks = self._revocations.get(identity.name)
            if callbacks is not None:
                callbacks.discard(on_revoked)
                if not callbacks:
                    del self._revocations[identity.name]


def _too_many(wait: float) -> AuthRefused:
    message = f"too many failed authentications from this address; try again in {math.ceil(wait)} s"
    return AuthRefused(429, "too_many_failures", message, WS_4029_TOO_MANY_FAILURES, wait)
