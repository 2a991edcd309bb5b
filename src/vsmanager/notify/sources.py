"""Where events come from: the supervisor's state changes (started, ready, stopped, crashed,
restarting, gave up), the console read like any other reader with its own cursor (lines
matching a target's rules; players joining and leaving), and the keys in force."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import structlog

from vsmanager.access.auth import KeyRing
from vsmanager.console.feed import ConsoleFeed
from vsmanager.game.restart_policy import describe_seconds
from vsmanager.game.supervisor import ServerState, Supervisor
from vsmanager.notify.matching import LineMatcher
from vsmanager.notify.notifier import Notifier

log = structlog.get_logger("vsmanager.notify")

LAST_LINES = 10
READ_BATCH = 1000
KEYS_POLL_S = 2.0
# With match rules, the watcher reads the console at most this often: a notification is
# not a matter of milliseconds, and a busy console's lines are then read in batches.
MATCH_PAUSE_S = 0.1


class GameEvents:
    """A supervisor state listener: called in the loop, it only queues."""

    def __init__(self, supervisor: Supervisor, notifier: Notifier) -> None:
        self.supervisor = supervisor
        self.notifier = notifier
        self._started: int | None = None
        self._ready: int | None = None
        self._ended: int | None = None

    def __call__(self, state: ServerState) -> None:
        supervisor = self.supervisor
        run = supervisor.runs.number
        if state in (ServerState.STARTING, ServerState.RUNNING) and run != self._started:
            self._started = run
            self.notifier.emit("started", {"run": run, "pid": supervisor.pid})
        if state is ServerState.RUNNING and run != self._ready:
            self._ready = run
            self.notifier.emit("ready", {"run": run})
        if state is ServerState.STOPPED and run != self._ended:
            self._ended = run
            self.notifier.emit("stopped", {"run": run, "exit_code": supervisor.exit_code})
        if state is ServerState.CRASHED:
            self._ended = run
            self.notifier.emit("crashed", {"exit_code": supervisor.exit_code, "run": run,
                                           "last_lines": self.last_lines()})
            status = supervisor.status()
            if supervisor.policy.gave_up:
                self.notifier.emit("gave_up", {"crashes": status.get("crashes"), "run": run})
            elif isinstance(at := status.get("next_restart_at"), str):
                wait = datetime.fromisoformat(at.replace("Z", "+00:00")) - datetime.now(UTC)
                seconds = max(0.0, wait.total_seconds())
                self.notifier.emit("restarting", {"at": at, "in": describe_seconds(seconds), "run": run})

    def last_lines(self) -> list[str]:
        latest = self.supervisor.runs.latest
        first = latest.first_seq if latest is not None else 0
        lines = [line.text for line in self.supervisor.feed.buffer.tail(500)
                 if line.stream in ("stdout", "stderr") and line.seq >= first]
        return lines[-LAST_LINES:]


async def watch_console(feed: ConsoleFeed, supervisor: Supervisor, notifier: Notifier) -> None:
    """Read the console from now on: rule matches per target, and who joined or left.

    Without a rule to match, lines are not read at all: the players come and go with the
    status, so only the status wakes the watcher, and a busy console costs it nothing. With
    rules, it reads at most every :data:`MATCH_PAUSE_S`, the lines of that while at once.
    """
    cursor = feed.buffer.last_seq
    matchers: dict[str, tuple[object, LineMatcher]] = {}
    players = set(supervisor.game.players)
    while not feed.ended:  # once ended, wait() no longer waits: nothing more comes
        for target in notifier.targets:
            known = matchers.get(target.name)
            if (known is None or known[0] is not target.match) and target.match:
                matchers[target.name] = (target.match, LineMatcher(target.match))
        if matchers:
            await feed.wait(cursor, feed.status_version, timeout=1.0)
        else:
            await feed.wait_status(feed.status_version, timeout=1.0)
            cursor = feed.buffer.last_seq
        now = time.monotonic()
        if matchers:
            cursor = _match_lines(feed, cursor, matchers, notifier, now)
        for name, (_, matcher) in matchers.items():
            for rule, held in matcher.flush(now):
                notifier.emit_to(name, "console_match", {"rule": rule, "line": None, "held_back": held})
        current = set(supervisor.game.players)
        for player in sorted(current - players):
            notifier.emit("player_joined", {"player": player})
        for player in sorted(players - current):
            notifier.emit("player_left", {"player": player})
        players = current
        if matchers and not feed.ended:
            await asyncio.sleep(MATCH_PAUSE_S)


def _match_lines(feed: ConsoleFeed, cursor: int, matchers: dict[str, tuple[object, LineMatcher]],
                 notifier: Notifier, now: float) -> int:
    """Every line after ``cursor`` through the matchers; the cursor after them."""
    while True:
        batch = feed.buffer.read_after(cursor, READ_BATCH)
        for line in batch.lines:
            if line.stream not in ("stdout", "stderr"):
                continue  # vsmanager's own lines never trigger a rule
            for name, (_, matcher) in matchers.items():
                for rule, held in matcher.feed(line.text, now):
                    notifier.emit_to(name, "console_match", {"rule": rule, "line": line.text[:1000],
                                                             "held_back": held})
        if batch.lines:
            cursor = batch.lines[-1].seq
        elif batch.gap is not None:
            cursor = batch.gap.to_seq
        if cursor >= feed.buffer.last_seq:
            return cursor


async def watch_keys(keyring: KeyRing, notifier: Notifier) -> None:
    """Keys added or removed (the keys file re-read, or `vsmanager keys`)."""
    names = set(keyring.names)
    while True:
        await asyncio.sleep(KEYS_POLL_S)
        current = set(keyring.names)
        for name in sorted(current - names):
            notifier.emit("key_added", {"key": name, "role": keyring.names[name].role.value})
        for name in sorted(names - current):
            notifier.emit("key_removed", {"key": name})
        names = current
