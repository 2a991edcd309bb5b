"""The schedules at work: one task per schedule waits for its next slot, then a run (its
countdown with warnings, the players' wait, the action) goes in a task of its own; the file
is watched and re-read on change; every run lands in the history.

Module over 300 lines: the loop, the run and the reload share the schedules' live state
(loops, runs, countdowns), and splitting them would pass all of it around.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from vsmanager.access.audit import AuditLog
from vsmanager.automation import policy
from vsmanager.automation.actions import ActionFailed, ActionRegistry
from vsmanager.automation.countdown import Choice, Countdown, sleep_until
from vsmanager.automation.durations import spoken_duration
from vsmanager.automation.files import signature
from vsmanager.automation.history import RUNS_KEPT, History, Run, Track, iso, now_iso, parse_iso
from vsmanager.automation.schedule import Schedule
from vsmanager.automation.store import Entry, SchedulesFileError, read_file
from vsmanager.automation.timing import IntervalTiming, between
from vsmanager.console.feed import ConsoleFeed
from vsmanager.game.supervisor import LifecycleError, Supervisor

log = structlog.get_logger("vsmanager.schedules")

FILE_POLL_S = 1.0
PLAYERS_POLL_S = 1.0
Emit = Callable[[str, dict[str, Any]], None]


class Scheduler:
    def __init__(self, path: Path | None, supervisor: Supervisor, feed: ConsoleFeed, audit: AuditLog,
                 actions: ActionRegistry, emit: Emit | None = None) -> None:
        self.path = path
        self.supervisor = supervisor
        self.feed = feed
        self.audit = audit
        self.actions = actions
        self.emit: Emit = emit or (lambda event, data: None)
        self.history = History(state_path(path) if path is not None else None)
        self.entries: list[Entry] = []
        self.file_error: str | None = None
        self.counts: Counter[tuple[str, str]] = Counter()  # (schedule, outcome kind), for /metrics
        self._anchors: dict[str, datetime] = {}
        self._loops: dict[str, tuple[Schedule, asyncio.Task[None]]] = {}
        self._runs: dict[str, asyncio.Task[None]] = {}
        self.countdowns: dict[str, Countdown] = {}
        self._watcher: asyncio.Task[None] | None = None
        self._seen: Any = None

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Scheduler:
        self.history.load()
        self.reload(starting=True)
        if self.path is not None:
            self._watcher = asyncio.create_task(self._watch(), name="schedules-file-watcher")
        return self

    async def __aexit__(self, *exc: object) -> None:
        tasks = [task for _, task in self._loops.values()] + list(self._runs.values())
        if self._watcher is not None:
            tasks.append(self._watcher)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loops.clear()
        self.history.save()

    def schedule(self, name: str) -> Schedule | None:
        return next((e.schedule for e in self.entries if e.schedule and e.schedule.name == name), None)

    def entry(self, name: str) -> Entry | None:
        return next((e for e in self.entries if e.name == name), None)

    def countdown(self) -> dict[str, str] | None:
        """The status's ``countdown``: the earliest pending action, while one counts down."""
        if not self.countdowns:
            return None
        first = min(self.countdowns.values(), key=lambda c: c.at)
        return first.as_json()

    def next_due(self, schedule: Schedule, count: int) -> list[datetime]:
        if schedule.paused:
            return []
        timing = schedule.timing(self._anchors.get(schedule.name, _whole_second()))
        track = self.history.tracks.get(schedule.name)
        floor = datetime.now(UTC)
        if track is not None and track.last_slot is not None:
            floor = max(floor, parse_iso(track.last_slot))
        found: list[datetime] = []
        due = timing.after(floor)
        while due is not None and len(found) < count:
            found.append(due)
            due = timing.after(due)
        return found

    # -- the file --------------------------------------------------------------------------

    def reload(self, starting: bool = False) -> None:
        """Read the file again; start, restart or stop the loops whose schedules changed."""
        if self.path is not None:
            self._seen = signature(self.path)
            try:
                self.entries = read_file(self.path, self.actions.names)
                self.file_error = None
            except SchedulesFileError as exc:
                self.file_error = str(exc)
                log.error("schedules_file_invalid", error=str(exc), kept="the schedules read before")
                self.feed.publish("system", f"schedules file not read: {exc}; the schedules read "
                                            "before keep running")
                return
        for entry in self.entries:
            if entry.error is not None:
                log.error("schedule_invalid", schedule=entry.error.name, field=entry.error.field,
                          why=entry.error.why)
                self.feed.publish("system", f"schedule {entry.error.name or '?'} refused: "
                                            f"{entry.error.field}: {entry.error.why}")
        wanted = {e.schedule.name: e.schedule for e in self.entries if e.schedule is not None}
        for name, (schedule, task) in list(self._loops.items()):
            if wanted.get(name) != schedule:
                task.cancel()
                del self._loops[name]
                self._anchors.pop(name, None)
                if name in self.history.tracks:  # a paused schedule waits for no slot
                    self.history.tracks[name].next_slot = None
                countdown = self.countdowns.get(name)
                if countdown is not None:
                    why = "paused" if name in wanted and wanted[name].paused else "changed"
                    countdown.decide("skip", f"the schedule being {why}")
        for name in list(self.history.tracks):
            if name not in wanted and self.entry(name) is None:
                self.history.forget(name)
        for name, schedule in wanted.items():
            if name in self._loops or schedule.paused:
                continue
            self._anchors[name] = _whole_second()
            if starting:
                self._count_missed(schedule)
            task = asyncio.create_task(self._loop(schedule), name=f"schedule-{name}")
            self._loops[name] = (schedule, task)
        self.history.save()

    async def _watch(self) -> None:
        assert self.path is not None
        while True:
            await asyncio.sleep(FILE_POLL_S)
            if signature(self.path) != self._seen:
                try:
                    self.reload()
                except Exception:
                    log.exception("schedules_reload_failed")

    # -- slots -----------------------------------------------------------------------------

    def _count_missed(self, schedule: Schedule) -> None:
        """Slots that came while vsmanager was not running: each one ``missed``."""
        track = self.history.track(schedule.name)
        if track.next_slot is None:
            return
        expected = parse_iso(track.next_slot)
        now = datetime.now(UTC)
        if expected > now:
            return
        if track.every is not None:
            timing: Any = IntervalTiming(track.every, expected - timedelta(seconds=track.every))
        elif schedule.cron is not None:
            timing = schedule.timing(now)
        else:
            return
        missed = between(timing, expected, now, RUNS_KEPT)
        for slot in missed:
            self._finish(schedule, Run(start=iso(slot), end=iso(slot), outcome="missed", slot=iso(slot)))
        if missed:
            track.last_slot = iso(missed[-1])
            self.feed.publish("system", f"schedule {schedule.name}: {len(missed)} run"
                              f"{'' if len(missed) == 1 else 's'} missed while vsmanager was not running")
        track.next_slot = None

    async def _loop(self, schedule: Schedule) -> None:
        name = schedule.name
        track = self.history.track(name)
        timing = schedule.timing(self._anchors[name])
        lead = schedule.warn[0] if schedule.warn else 0
        while True:
            floor = datetime.now(UTC)
            if track.last_slot is not None:
                floor = max(floor, parse_iso(track.last_slot))
            due = timing.after(floor)
            if due is None:
                return
            track.next_slot, track.every = iso(due), schedule.every
            self.history.save()
            await sleep_until(due - timedelta(seconds=lead))
            # Claimed before anything else: this slot never runs twice, whatever the clock does.
            track.last_slot = iso(due)
            if policy.is_missed(due.timestamp(), time.time()):
                self._finish(schedule, Run(start=now_iso(), end=now_iso(), outcome="missed", slot=iso(due)))
                continue
            if name in self._runs:
                run = Run(start=now_iso(), slot=iso(due))
                self._finish(schedule, run, "skipped: the previous run is still going")
                continue
            self.start_run(schedule, due, who=None)

    # -- runs ------------------------------------------------------------------------------

    def start_run(self, schedule: Schedule, due: datetime | None, who: str | None) -> Run:
        """Begin a run in its own task: at ``due`` with its warnings, or (``due`` None) at
        once, without warnings, whoever is online."""
        run = Run(start=now_iso(), slot=iso(due) if due is not None else None, by=who)
        self.history.track(schedule.name).runs.append(run)
        task = asyncio.create_task(self._run(schedule, run, due), name=f"schedule-run-{schedule.name}")
        self._runs[schedule.name] = task
        task.add_done_callback(lambda _: self._runs.pop(schedule.name, None))
        return run

    def is_running(self, name: str) -> bool:
        return name in self._runs

    def decide(self, name: str, choice: Choice, by: str) -> bool:
        countdown = self.countdowns.get(name)
        if countdown is None or countdown.choice is not None:
            return False
        countdown.decide(choice, by)
        return True

    async def _run(self, schedule: Schedule, run: Run, due: datetime | None) -> None:
        outcome, detail = "failed: vsmanager stopped during the run", None
        try:
            outcome, detail = await self._perform(schedule, due)
        except Exception as exc:
            log.exception("schedule_run_failed", schedule=schedule.name)
            outcome = f"failed: {exc}"
        finally:
            run.detail = detail
            self._finish(schedule, run, outcome)

    async def _perform(self, schedule: Schedule, due: datetime | None) -> tuple[str, str | None]:
        by_hand = due is None
        why = policy.refusal(schedule.action, schedule.when_players, self._facts(), by_hand=by_hand,
                             ahead=bool(schedule.warn) and not by_hand)
        if why is not None:
            return f"skipped: {why}", None
        at = due or datetime.now(UTC)
        countdown = Countdown(schedule.name, schedule.action, at)
        if not by_hand:
            self.countdowns[schedule.name] = countdown
            self._status_changed()
        try:
            if not by_hand and await self._warn(schedule, countdown) == "skip":
                return f"skipped: skipped by {countdown.by}", None
            waited, players = await self._wait_for_players(schedule, countdown, by_hand)
            if countdown.choice == "skip":
                return f"skipped: skipped by {countdown.by}", None
        finally:
            if self.countdowns.get(schedule.name) is countdown:
                del self.countdowns[schedule.name]
                self._status_changed()
        why = policy.refusal(schedule.action, schedule.when_players if waited == 0 else "ignore",
                             self._facts(), by_hand=by_hand or waited > 0)
        if why is not None:
            return f"skipped: {why}", None
        return await self._act(schedule), policy.waited_note(waited, players)

    async def _warn(self, schedule: Schedule, countdown: Countdown) -> Choice | None:
        at = countdown.at.timestamp()
        for offset in policy.warnings_left(schedule.warn, at, time.time()):
            moment = countdown.at - timedelta(seconds=offset)
            if await countdown.wait_until(moment) is not None:
                return countdown.choice
            text = schedule.announcement(offset)
            in_words = spoken_duration(offset)
            self.feed.publish("system", f"schedule {schedule.name}: warning: {schedule.action} in {in_words}")
            self.emit("schedule_warning", {"schedule": schedule.name, "action": schedule.action,
                                           "in": in_words, "at": iso(countdown.at)})
            if text is not None:
                with contextlib.suppress(LifecycleError):  # the run is judged at its time
                    await self.supervisor.send_command(text, by=f"schedule:{schedule.name}")
        return await countdown.wait_until(countdown.at)

    async def _wait_for_players(self, schedule: Schedule, countdown: Countdown,
                                by_hand: bool) -> tuple[float, int]:
        started = time.monotonic()
        announced = False
        while not by_hand and countdown.choice is None:
            players = self.supervisor.game.players_online
            waited = time.monotonic() - started
            decision = policy.hold(schedule.when_players, players, waited, schedule.max_wait)
            if decision != "wait":
                return waited, players
            if not announced:
                announced = True
                self.feed.publish("system", f"schedule {schedule.name}: waiting for "
                                  f"{policy.players_online(players)} to leave (at most "
                                  f"{spoken_duration(schedule.max_wait)})")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(countdown._decided.wait(), PLAYERS_POLL_S)
        return time.monotonic() - started, self.supervisor.game.players_online

    async def _act(self, schedule: Schedule) -> str:
        by = f"schedule:{schedule.name}"
        self.feed.publish("system", f"schedule {schedule.name}: {policy.action_line(schedule.action)}", by=by)
        self.audit.record("schedule_action", name=by, role="schedule", client="vsmanager",
                          schedule=schedule.name, schedule_action=schedule.action)
        action = self.actions.get(schedule.action)
        if action is None:
            return f"failed: {schedule.action} is not available in this vsmanager"
        try:
            await action(schedule, by)
        except ActionFailed as exc:
            return f"failed: {exc}"
        return "ok"

    def _finish(self, schedule: Schedule, run: Run, outcome: str | None = None) -> None:
        if outcome is not None:
            run.outcome = outcome
        run.end = run.end or now_iso()
        track: Track = self.history.track(schedule.name)
        if run not in track.runs:
            track.runs.append(run)
        self.counts[(schedule.name, run.kind)] += 1
        self.history.save()
        log.info("schedule_run", schedule=schedule.name, outcome=run.outcome, detail=run.detail)
        if run.outcome != "missed":
            note = f" ({run.detail})" if run.detail else ""
            self.feed.publish("system", f"schedule {schedule.name}: {run.outcome}{note}")
        self.emit("schedule_run", {"schedule": schedule.name, "action": schedule.action,
                                   "outcome": run.outcome, "detail": run.detail, "start": run.start,
                                   "end": run.end})

    def _facts(self) -> policy.Facts:
        return policy.Facts(state=self.supervisor.state.value, players=self.supervisor.game.players_online)

    def _status_changed(self) -> None:
        self.feed.publish_status(self.supervisor.status)


def state_path(path: Path) -> Path:
    """The state file beside the schedules file: ``schedules.toml`` → ``schedules.state.json``."""
    return path.with_name(f"{path.stem}.state.json")


def _whole_second() -> datetime:
    return datetime.fromtimestamp(math.ceil(time.time()), UTC)
