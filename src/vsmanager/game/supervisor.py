"""The game server's state machine: its states and legal transitions, the verbs the API
calls (start, stop, restart, send a command), restarts after a crash, and the status it
reports. One run's process (spawn, capture, watch, stop sequence) is a ``GameRun`` (run.py);
the lock and last resorts are ``Safeguards`` (safeguards.py); the armed restart a ``RestartTimer``.

Why about 410 lines (over the ~350 bound): it is one class, the state machine, and what is
left is its transitions and verbs, which share one lock and one state; splitting them further
would spread one transition (a start, an exit) over several modules."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any, NoReturn

import structlog

from vsmanager.config.settings import Settings
from vsmanager.console.buffer import Stream
from vsmanager.console.feed import ConsoleFeed
from vsmanager.game.instance_lock import InstanceLocked
from vsmanager.game.last_resort import LastResort
from vsmanager.game.profile import GameFacts, build_profile
from vsmanager.game.restart_policy import Decision, Exit, RestartPolicy, RestartRules, describe_seconds
from vsmanager.game.restart_timer import RestartTimer
from vsmanager.game.run import GameRun, InputRefused, SpawnFailed, now_iso
from vsmanager.game.runs import RunLog
from vsmanager.game.safeguards import Safeguards

log = structlog.get_logger("vsmanager.supervisor")

# How long autostart waits for the instance lock beyond the stop and kill timeouts: a game
# left by a killed vsmanager is being stopped by its supervisor of last resort.
LOCK_WAIT_MARGIN_S = 5.0


class ServerState(StrEnum):
    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    CRASHED = "crashed"


ALIVE = frozenset({ServerState.STARTING, ServerState.RUNNING, ServerState.STOPPING})


class LifecycleError(Exception):
    """An action the server's state does not allow; ``code`` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Supervisor:
    """The game's lifecycle; the app's lifespan makes one and shuts it down."""

    def __init__(self, settings: Settings, feed: ConsoleFeed) -> None:
        self.settings = settings
        self.feed = feed
        self.state = ServerState.STOPPED
        # Other concerns' parts of the status (a schedule's countdown), and who hears of
        # each state change (notifications); called in the loop, they must not wait.
        self.status_parts: dict[str, Callable[[], object]] = {}
        self.state_listeners: list[Callable[[ServerState], None]] = []
        self.exit_code: int | None = None
        self.starts = 0
        self.policy = RestartPolicy(RestartRules(
            settings.server_restart, settings.server_restart_delay,
            settings.server_restart_max_delay, settings.server_restart_limit,
            settings.server_restart_window,
        ))
        self.runs = RunLog()
        self.safeguards = Safeguards(settings, feed)  # the lock, last resorts, leftovers
        self._run: GameRun | None = None
        self._stop_requested = False
        self._leaving = False  # vsmanager is exiting: no time to wait for a game still starting
        self._exited = asyncio.Event()
        self._exited.set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._lifecycle = asyncio.Lock()
        self._state_changed = asyncio.Event()
        self._restarting = False
        self._ready: re.Pattern[str] | None = None
        self._ready_seen = False
        self._ready_timer: asyncio.TimerHandle | None = None
        self._restart_timer = RestartTimer(
            lambda: self._spawn_task(self._restart_after_crash(), "auto-restart"))
        # What the console says about the game (players, version): see profile.py.
        self.game = GameFacts(build_profile(settings.game_profile, settings.game_patterns))
        self.crashes_total = 0  # for Prometheus
        self._publish_status()

    # -- what the API reads --------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._run.pid if self._run and self.state in ALIVE else None

    def status(self) -> dict[str, Any]:
        run = self._run if self.state in ALIVE else None
        uptime = round(time.monotonic() - run.started_monotonic, 3) if run else None
        last = self.runs.last_ended
        latest = self.runs.latest
        return {
            "state": self.state.value,
            "pid": self.pid,
            "uptime_s": uptime,
            "exit_code": self.exit_code,
            "started_at": run.started_at if run else None,
            "restarts": max(0, self.starts - 1),
            "console_id": self.feed.console_id,
            "run": self.runs.number,
            # Where that run's lines begin: a page still reading older lines marks it there.
            "run_first_seq": latest.first_seq if latest else None,
            "last_run": last.summary() if last else None,
            "restart_policy": self.settings.server_restart,
            "next_restart_at": self._restart_timer.at,
            "crashes": self.policy.crashes(time.monotonic()),
            "gave_up": self.policy.gave_up,
            "leftover_pids": self.safeguards.leftovers.pids,
            "game": self.game.as_status(),
            **{name: part() for name, part in self.status_parts.items()},
        }

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, by: str | None = None) -> None:
        """``by``: the name of the key that asked, named in the console."""
        async with self._lifecycle:
            self._by_hand()
            await self._start(by=by)

    async def autostart(self) -> None:
        """Start at vsmanager's start; if the instance lock is held (a killed vsmanager's game
        still being ended), wait for it in the background, bounded."""
        try:
            await self.start()
        except LifecycleError as exc:
            if exc.code != "instance_locked":
                log.error("autostart_failed", code=exc.code, reason=exc.message)
                return
            self._spawn_task(self._autostart_when_unlocked(), "autostart")

    async def stop(self, by: str | None = None) -> None:
        """Begin a graceful stop and return; :meth:`wait_exited` waits for the end. With a
        restart pending after a crash, cancel it instead."""
        async with self._lifecycle:
            if self._restart_timer.pending and self.state not in ALIVE:
                self._by_hand()
                who = f" by {by}" if by is not None else ""
                self.feed.publish("system", f"automatic restart cancelled{who}", by=by)
                self._publish_status()
                return
            self._begin_stop(by)
            self._by_hand()

    async def restart(self, by: str | None = None) -> asyncio.Future[None]:
        """Stop (if alive) and start again. A server that is not alive is started at once
        (and its start failure raised); otherwise the start follows the exit in the
        background, and the returned future says how it went."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Most callers do not wait for the start: its failure is a console line already.
        done.add_done_callback(lambda future: future.cancelled() or future.exception())
        async with self._lifecycle:
            if self.state is ServerState.STOPPING:
                raise LifecycleError("stopping", "the server is stopping; start it once stopped")
            if by is not None:
                self.feed.publish("system", f"{by} restarted the server", by=by)
            if self.state not in ALIVE:
                self._by_hand()
                await self._start()
                done.set_result(None)
                return done
            self._begin_stop()
            self._by_hand()
            self._restarting = True
        self._spawn_task(self._finish_restart(done), "restart")
        return done

    async def wait_settled(self, timeout: float) -> bool:
        """Wait until the server is running, stopped or crashed, with no restart under way."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._restarting or self.state in (ServerState.STARTING, ServerState.STOPPING):
            changed = self._state_changed
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                return False
        return True

    async def wait_exited(self, timeout: float | None = None) -> bool:
        try:
            await asyncio.wait_for(self._exited.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def shutdown(self) -> None:
        """vsmanager is exiting: stop the game the graceful way and wait for it, bounded;
        end the leftovers it knows of."""
        self._restart_timer.cancel()
        self._leaving = True
        if self.state in (ServerState.STARTING, ServerState.RUNNING):
            with contextlib.suppress(LifecycleError):
                await self.stop()
        budget = self.settings.server_stop_timeout + 2 * self.settings.server_kill_timeout + 5
        await self.wait_exited(budget)
        self._restart_timer.cancel()  # a crash during the stop must not start it again
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.safeguards.end()

    async def send_command(self, command: str, by: str | None = None) -> int:
        """Echo the command into the console and write it to the game's stdin in one write."""
        run = self._run
        if self.state not in (ServerState.STARTING, ServerState.RUNNING) or run is None:
            raise LifecycleError("server_not_running", f"the server is {self.state.value}")
        try:
            run.check_input()
            echo = self.feed.publish("command", command, by=by)
            await run.write_line(command, self.settings.command_write_timeout)
        except InputRefused as exc:
            raise LifecycleError(exc.code, exc.message) from None
        self.feed.counters.command_sent(by)  # for Prometheus: commands per key name
        return echo.seq

    # -- internals ---------------------------------------------------------------------------

    def _by_hand(self) -> None:
        """Someone started or stopped the game: forget the crash count and pending restart."""
        self._restart_timer.cancel()
        self.policy.reset()

    async def _start(self, automatic: bool = False, by: str | None = None) -> None:
        if self.state in ALIVE:
            raise LifecycleError(
                "stopping" if self.state is ServerState.STOPPING else "already_running",
                f"the server is already {self.state.value}",
            )
        if by is not None:
            self.feed.publish("system", f"{by} started the server", by=by)
        try:
            self.safeguards.take_lock()
        except InstanceLocked as exc:
            raise LifecycleError("instance_locked", str(exc)) from None
        # Set before the game's output is opened (run.open_console, below), which publishes at
        # once what the game printed while it was being started: the ready line among it.
        self._ready = self.settings.ready_regex
        self._ready_seen = False
        first_seq = self.feed.buffer.last_seq + 1
        # Before the game, so that the game is never without it (last_resort.py); only a game
        # without one is told SIGTERM by the kernel if vsmanager dies.
        last_resort = self.safeguards.spawn_last_resort()
        try:
            run = await GameRun.spawn(self.settings, self.feed, self.safeguards.leftovers,
                                      self._capture_line, orphan_sigterm=last_resort is None)
        except SpawnFailed as exc:
            if last_resort is not None:
                self.safeguards.drop(last_resort)
            self._start_failed(exc.problem, automatic)
        self._run = run
        self.starts += 1
        self.exit_code = None
        self._stop_requested = False
        self._exited = asyncio.Event()
        if last_resort is not None and not last_resort.attach(run.pid, run.console_fds()):
            self.feed.publish("system", "warning: the supervisor of last resort is gone")
        number = self.runs.begin(first_seq, run.started_at, self.feed.buffer.first_seq).run
        self.feed.publish("system", f"server started (pid {run.pid}, run {number})")
        run.open_console()  # the game's first lines, however quick, come after that one
        log.info("server_started", pid=run.pid, argv0=self.settings.server_argv[0], run=number)
        ready = self._ready is None or self._ready_seen
        if not ready:
            self._ready_timer = asyncio.get_running_loop().call_later(
                self.settings.server_ready_timeout, self._ready_overdue, number)
        self._set_state(ServerState.RUNNING if ready else ServerState.STARTING)
        self._spawn_task(self._watch(run, last_resort), "watch")

    def _start_failed(self, problem: str, automatic: bool) -> NoReturn:
        """A start that could not happen: a system line, state crashed, and (for an
        automatic restart) another try as the policy says. Raises LifecycleError."""
        self.exit_code = None
        message = f"server failed to start: {problem}"
        decision = self.policy.on_exit(Exit(None, False, 0.0), time.monotonic()) if automatic else None
        self.feed.publish("system", _with_decision(message, decision))
        log.warning("server_start_failed", reason=problem)
        if decision is not None:
            self._arm_restart(decision)
        self._set_state(ServerState.CRASHED)
        raise LifecycleError("start_failed", message)

    async def _autostart_when_unlocked(self) -> None:
        settings = self.settings
        await self.safeguards.wait_for_lock(
            settings.server_stop_timeout + 2 * settings.server_kill_timeout + LOCK_WAIT_MARGIN_S)
        async with self._lifecycle:
            if self.state in ALIVE:
                return
            try:
                await self._start()
            except LifecycleError as exc:
                log.error("autostart_failed", code=exc.code, reason=exc.message)

    def _begin_stop(self, by: str | None = None) -> None:
        if self.state not in (ServerState.STARTING, ServerState.RUNNING):
            code = "stopping" if self.state is ServerState.STOPPING else "not_running"
            raise LifecycleError(code, f"the server is {self.state.value}")
        assert self._run is not None
        if by is not None:
            self.feed.publish("system", f"{by} stopped the server", by=by)
        # A game still starting does not read its console yet: when vsmanager exits, it is
        # not kept waiting a stop timeout for a command nobody reads.
        at_once = self._leaving and self.state is ServerState.STARTING
        self._stop_requested = True
        self._set_state(ServerState.STOPPING)
        self.feed.publish("system", "stop requested")
        self._spawn_task(self._run.stop(at_once), "stop")

    async def _finish_restart(self, done: asyncio.Future[None]) -> None:
        try:
            await self.wait_exited()
            async with self._lifecycle:
                if self.state not in ALIVE:
                    await self._start()
            if not done.done():
                done.set_result(None)
        except LifecycleError as exc:
            if not done.done():
                done.set_exception(exc)
        finally:
            self._restarting = False
            self._notify_state()

    def _arm_restart(self, decision: Decision) -> None:
        if decision.restart_in is not None:
            self._restart_timer.arm(decision.restart_in)

    async def _restart_after_crash(self) -> None:
        async with self._lifecycle:
            if self.state in ALIVE:
                return
            with contextlib.suppress(LifecycleError):  # its failure is a line and a decision
                await self._start(automatic=True)

    def _ready_overdue(self, run: int) -> None:
        self._ready_timer = None
        if self.state is ServerState.STARTING and self.runs.number == run and self._ready:
            self.feed.publish(
                "system",
                f"warning: no line matching {self._ready.pattern!r} after "
                f"{describe_seconds(self.settings.server_ready_timeout)}; the server is still "
                "starting (VS_SERVER_READY_TIMEOUT)",
            )

    def _capture_line(self, stream: Stream, text: str) -> None:
        self.feed.publish(stream, text)
        if self.game.observe(stream, text):
            self._publish_status()
        ready = self._ready
        if ready is not None and not self._ready_seen and ready.search(text):
            self._ready_seen = True
            if self.state is ServerState.STARTING:
                self._set_state(ServerState.RUNNING)

    async def _watch(self, run: GameRun, last_resort: LastResort | None) -> None:
        code = await run.watch()
        if self._ready_timer is not None:
            self._ready_timer.cancel()
            self._ready_timer = None
        self.exit_code = code
        requested = self._stop_requested
        decision = self.policy.on_exit(Exit(code, requested, run.ran_for or 0.0), time.monotonic())
        how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
        line = self.feed.publish("system", _with_decision(f"server {how}", decision))
        self.runs.end(line.seq, now_iso(), code, decision.outcome)
        log.info("server_exited", pid=run.pid, exit_code=code, requested=requested,
                 outcome=decision.outcome, restart_in=decision.restart_in)
        self.game.run_ended()
        self.crashes_total += decision.outcome == "crashed"
        self._arm_restart(decision)
        self._set_state(ServerState.CRASHED if decision.outcome == "crashed" else ServerState.STOPPED)
        self._exited.set()
        if last_resort is not None:
            await self.safeguards.release(last_resort, self.settings.server_kill_timeout + 2)

    def _set_state(self, state: ServerState) -> None:
        self.state = state
        self._publish_status()
        self._notify_state()
        for listener in self.state_listeners:
            listener(state)

    def _notify_state(self) -> None:
        self._state_changed.set()
        self._state_changed = asyncio.Event()

    def _publish_status(self) -> None:
        self.feed.publish_status(self.status)  # computed when sent: the uptime is current

    def _spawn_task(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=f"supervisor-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("supervisor_task_failed", task=task.get_name(), exc_info=task.exception())


def _with_decision(line: str, decision: Decision | None) -> str:
    return f"{line}; {decision.message}" if decision is not None and decision.message else line
