"""Run the game server as a child, capture its console, stop it gracefully, never orphan it."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import re
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NoReturn

import structlog

from vsmanager.config.settings import Settings
from vsmanager.console.buffer import Stream
from vsmanager.console.capture import STDERR_FD, STDOUT_FD, GameProtocol, PipeCapture
from vsmanager.console.feed import ConsoleFeed
from vsmanager.game import procfs
from vsmanager.game.instance_lock import InstanceLock, InstanceLocked, lock_directory
from vsmanager.game.last_resort import LastResort
from vsmanager.game.launch import executable_problem, launch_argv
from vsmanager.game.leftovers import Leftovers
from vsmanager.game.profile import GameFacts, build_profile
from vsmanager.game.restart_policy import Decision, Exit, RestartPolicy, RestartRules, describe_seconds
from vsmanager.game.runs import RunLog

log = structlog.get_logger("vsmanager.supervisor")

# After the game exits (and its group is killed), how long its pipes may stay open before
# vsmanager looks for who holds them: the game's last lines are read well within it.
PIPE_GRACE_S = 0.25
# With nobody found holding them, how long more to wait for the pipes to close.
PIPE_DRAIN_TIMEOUT_S = 5.0
# How long autostart waits for the instance lock: a game left by a killed vsmanager is
# being ended by its supervisor of last resort (SIGTERM, the kill timeout, SIGKILL).
LOCK_WAIT_MARGIN_S = 5.0
EXIT_POLL_S = 0.05
_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


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
        self.lock = InstanceLock(lock_directory(settings.server_argv, settings.server_workdir))
        self._proc: asyncio.subprocess.Process | None = None
        self._started_monotonic: float | None = None
        self._started_at: str | None = None
        self._stop_requested = False
        self._exited = asyncio.Event()
        self._exited.set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._lifecycle = asyncio.Lock()
        self._state_changed = asyncio.Event()
        self._restarting = False
        self._ready: re.Pattern[str] | None = None
        self._ready_seen = False
        self._ready_timer: asyncio.TimerHandle | None = None
        self._pending_restart: asyncio.TimerHandle | None = None
        self._next_restart_at: str | None = None
        self.leftovers = Leftovers()
        self._last_resorts: set[LastResort] = set()
        # What the console says about the game (players, version): see profile.py.
        self.game = GameFacts(build_profile(settings.game_profile, settings.game_patterns))
        self.crashes_total = 0  # for Prometheus
        self._publish_status()

    # -- what the API reads --------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc and self.state in ALIVE else None

    def status(self) -> dict[str, Any]:
        alive = self.state in ALIVE and self._started_monotonic is not None
        uptime = round(time.monotonic() - self._started_monotonic, 3) if alive else None  # type: ignore[operator]
        last = self.runs.last_ended
        return {
            "state": self.state.value,
            "pid": self.pid,
            "uptime_s": uptime,
            "exit_code": self.exit_code,
            "started_at": self._started_at if self.state in ALIVE else None,
            "restarts": max(0, self.starts - 1),
            "console_id": self.feed.console_id,
            "run": self.runs.number,
            "last_run": last.summary() if last else None,
            "restart_policy": self.settings.server_restart,
            "next_restart_at": self._next_restart_at,
            "crashes": self.policy.crashes(time.monotonic()),
            "gave_up": self.policy.gave_up,
            "leftover_pids": self.leftovers.pids,
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
            if self._pending_restart is not None and self.state not in ALIVE:
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
        self._cancel_pending_restart()
        if self.state in (ServerState.STARTING, ServerState.RUNNING):
            with contextlib.suppress(LifecycleError):
                await self.stop()
        budget = self.settings.server_stop_timeout + 2 * self.settings.server_kill_timeout + 5
        await self.wait_exited(budget)
        self._cancel_pending_restart()  # a crash during the stop must not start it again
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.leftovers.end()
        for last_resort in list(self._last_resorts):
            last_resort.release()
            if await last_resort.wait(1.0):
                self._last_resorts.discard(last_resort)
        self.lock.release()

    async def send_command(self, command: str, by: str | None = None) -> int:
        """Echo the command into the console and write it to the game's stdin in one write."""
        proc = self._proc
        if self.state not in (ServerState.STARTING, ServerState.RUNNING) or proc is None:
            raise LifecycleError("server_not_running", f"the server is {self.state.value}")
        stdin = proc.stdin
        assert stdin is not None
        if stdin.is_closing():
            raise LifecycleError("server_not_running", "the server has closed its console input")
        if stdin.transport.get_write_buffer_size() > 0:
            raise LifecycleError(
                "console_input_blocked",
                "the server is not reading its console input; the previous command is still "
                "waiting to be delivered",
            )
        echo = self.feed.publish("command", command, by=by)
        try:
            stdin.write(command.encode() + b"\n")
            await asyncio.wait_for(stdin.drain(), self.settings.command_write_timeout)
        except TimeoutError:
            raise LifecycleError(
                "console_input_blocked", "the server is not reading its console input"
            ) from None
        except (BrokenPipeError, ConnectionResetError, RuntimeError):
            # RuntimeError: uvloop's word for a pipe transport closed under the write.
            self.feed.publish("system", "command not delivered: the server closed its input")
            raise LifecycleError(
                "server_not_running", "the server has closed its console input"
            ) from None
        self.feed.counters.command_sent(by)  # for Prometheus: commands per key name
        return echo.seq

    # -- internals ---------------------------------------------------------------------------

    def _by_hand(self) -> None:
        """Someone started or stopped the game: forget the crash count and pending restart."""
        self._cancel_pending_restart()
        self.policy.reset()

    async def _start(self, automatic: bool = False, by: str | None = None) -> None:
        if self.state in ALIVE:
            raise LifecycleError(
                "stopping" if self.state is ServerState.STOPPING else "already_running",
                f"the server is already {self.state.value}",
            )
        if by is not None:
            self.feed.publish("system", f"{by} started the server", by=by)
        settings = self.settings
        argv = settings.server_argv
        self._take_lock()
        env = self._child_environment()
        problem = executable_problem(argv[0], settings.server_workdir, env.get("PATH"))
        if problem is not None:
            self._start_failed(problem, automatic)
        loop = asyncio.get_running_loop()
        # Set before the game runs: its output may be read before the spawn call returns.
        self._ready = settings.ready_regex
        self._ready_seen = False
        first_seq = self.feed.buffer.last_seq + 1
        streams: tuple[tuple[int, Stream], ...] = ((STDOUT_FD, "stdout"), (STDERR_FD, "stderr"))
        captures = {
            fd: PipeCapture(stream, self._capture_line, settings.console_max_line_bytes,
                            settings.console_partial_flush_s, loop)
            for fd, stream in streams
        }
        try:
            transport, protocol = await loop.subprocess_exec(
                lambda: GameProtocol(captures, loop),
                *launch_argv(argv),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=settings.server_workdir,
                env=env,
                start_new_session=True,  # its own process group, so we can end all of it
                preexec_fn=_ask_for_sigterm_when_orphaned,
            )
        except OSError as exc:
            self._start_failed(f"{argv[0]!r}: {exc.strerror or exc}", automatic)
        proc = asyncio.subprocess.Process(transport, protocol, loop)
        self._proc = proc
        self.starts += 1
        self.exit_code = None
        self._stop_requested = False
        self._exited = asyncio.Event()
        self._started_monotonic = time.monotonic()
        self._started_at = _now_iso()
        pipes = procfs.pipe_inodes(proc.pid)
        last_resort = self._spawn_last_resort(proc.pid)
        run = self.runs.begin(first_seq, self._started_at, self.feed.buffer.first_seq)
        self.feed.publish("system", f"server started (pid {proc.pid}, run {run.run})")
        log.info("server_started", pid=proc.pid, argv0=argv[0], run=run.run)
        ready = self._ready is None or self._ready_seen
        if not ready:
            self._ready_timer = loop.call_later(
                settings.server_ready_timeout, self._ready_overdue, run.run)
        self._set_state(ServerState.RUNNING if ready else ServerState.STARTING)
        self._spawn_task(self._watch(proc, transport, captures, pipes, last_resort), "watch")

    def _take_lock(self) -> None:
        try:
            self.lock.acquire()
        except InstanceLocked as exc:
            self.feed.publish("system", f"server not started: {exc}")
            raise LifecycleError("instance_locked", str(exc)) from None
        except OSError as exc:
            # A read-only working directory should not keep the game from running.
            if not getattr(self, "_lock_warned", False):
                self._lock_warned = True
                self.feed.publish("system", f"warning: no instance lock ({self.lock.path}: "
                                            f"{exc.strerror or exc}); running without one")

    def _start_failed(self, problem: str, automatic: bool) -> NoReturn:
        """A start that could not happen: a system line, state crashed, and (for an
        automatic restart) another try as the policy says. Raises LifecycleError."""
        self.exit_code = None
        message = f"server failed to start: {problem}"
        decision = self.policy.on_exit(Exit(None, False, 0.0), time.monotonic()) if automatic else None
        self.feed.publish("system", _with_decision(message, decision))
        log.warning("server_start_failed", reason=problem)
        if decision is not None:
            self._follow(decision)
        self._set_state(ServerState.CRASHED)
        raise LifecycleError("start_failed", message)

    async def _autostart_when_unlocked(self) -> None:
        settings = self.settings
        budget = settings.server_kill_timeout + LOCK_WAIT_MARGIN_S
        self.feed.publish("system", f"waiting up to {describe_seconds(budget)} for the lock")
        deadline = time.monotonic() + budget
        while time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            with contextlib.suppress(InstanceLocked, OSError):
                self.lock.acquire()
                break
        async with self._lifecycle:
            if self.state in ALIVE:
                return
            try:
                await self._start()
            except LifecycleError as exc:
                log.error("autostart_failed", code=exc.code, reason=exc.message)

    def _spawn_last_resort(self, pgid: int) -> LastResort | None:
        try:
            last_resort = LastResort.spawn(pgid, self.settings.server_kill_timeout, self.lock.fd)
        except OSError as exc:
            self.feed.publish("system", f"warning: no supervisor of last resort ({exc})")
            return None
        self._last_resorts.add(last_resort)
        return last_resort

    def _begin_stop(self, by: str | None = None) -> None:
        if self.state not in (ServerState.STARTING, ServerState.RUNNING):
            code = "stopping" if self.state is ServerState.STOPPING else "not_running"
            raise LifecycleError(code, f"the server is {self.state.value}")
        assert self._proc is not None
        if by is not None:
            self.feed.publish("system", f"{by} stopped the server", by=by)
        self._stop_requested = True
        self._set_state(ServerState.STOPPING)
        self.feed.publish("system", "stop requested")
        self._spawn_task(self._stop_sequence(self._proc), "stop")

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

    def _follow(self, decision: Decision) -> None:
        """Arm the restart the policy decided on, if any."""
        if decision.restart_in is None:
            return
        loop = asyncio.get_running_loop()
        self._cancel_pending_restart()
        self._pending_restart = loop.call_later(decision.restart_in, self._restart_due)
        self._next_restart_at = _now_iso(time.time() + decision.restart_in)

    def _cancel_pending_restart(self) -> None:
        if self._pending_restart is not None:
            self._pending_restart.cancel()
            self._pending_restart = None
            self._next_restart_at = None

    def _restart_due(self) -> None:
        self._pending_restart = None
        self._next_restart_at = None
        self._spawn_task(self._restart_after_crash(), "auto-restart")

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

    async def _stop_sequence(self, proc: asyncio.subprocess.Process) -> None:
        settings = self.settings
        if self._write_stop_command(proc):
            if await self.wait_exited(settings.server_stop_timeout):
                return
            why = f"server did not exit {settings.server_stop_timeout:g} s after "
            why += f"{settings.server_stop_command!r}"
        else:
            why = "no stop command to send"
        self.feed.publish("system", f"{why}; sending SIGTERM")
        self._signal_group(proc, signal.SIGTERM)
        if await self.wait_exited(settings.server_kill_timeout):
            return
        self.feed.publish(
            "system",
            f"server did not exit {settings.server_kill_timeout:g} s after SIGTERM; sending SIGKILL",
        )
        self._signal_group(proc, signal.SIGKILL)

    def _write_stop_command(self, proc: asyncio.subprocess.Process) -> bool:
        """Ask the game to stop its own way; False if there is no way to ask."""
        command = self.settings.server_stop_command
        if not command or proc.stdin is None or proc.stdin.is_closing():
            return False
        self.feed.publish("command", command)
        try:
            proc.stdin.write(command.encode() + b"\n")
        except (BrokenPipeError, ConnectionResetError, RuntimeError):
            return False
        return True

    def _capture_line(self, stream: Stream, text: str) -> None:
        self.feed.publish(stream, text)
        if self.game.observe(stream, text):
            self._publish_status()
        ready = self._ready
        if ready is not None and not self._ready_seen and ready.search(text):
            self._ready_seen = True
            if self.state is ServerState.STARTING:
                self._set_state(ServerState.RUNNING)

    async def _watch(
        self,
        proc: asyncio.subprocess.Process,
        transport: asyncio.SubprocessTransport,
        captures: dict[int, PipeCapture],
        pipes: set[int],
        last_resort: LastResort | None,
    ) -> None:
        # Process.wait() also waits for the pipes to close, which a grandchild holding them
        # would delay forever; the exit itself shows in returncode.
        waiter = asyncio.ensure_future(proc.wait())
        while proc.returncode is None:
            await asyncio.wait({waiter}, timeout=EXIT_POLL_S)
        code = proc.returncode
        ran_for = time.monotonic() - (self._started_monotonic or time.monotonic())
        # Whatever the game left behind in its group goes too: no orphans, and its pipes close.
        self._signal_group(proc, signal.SIGKILL)
        # The last lines before the exit are in the pipes: read them to EOF.
        ends: list[asyncio.Future[Any]] = [capture.closed for capture in captures.values()]
        _, pending = await asyncio.wait(ends, timeout=PIPE_GRACE_S)
        if pending:
            holders = self.leftovers.find(pipes)
            if holders:
                names = Leftovers.describe(holders)
                self.feed.publish(
                    "system",
                    f"warning: process {names} outside the server's group still holds its "
                    "console; its output is not shown, and vsmanager ends it when it exits",
                )
            else:
                _, pending = await asyncio.wait(ends, timeout=PIPE_DRAIN_TIMEOUT_S)
        for fd, capture in captures.items():
            if capture.closed in pending:
                capture.abandon()
                pipe = transport.get_pipe_transport(fd)
                if pipe is not None:
                    pipe.close()
        if proc.stdin is not None:
            proc.stdin.close()
        if self._ready_timer is not None:
            self._ready_timer.cancel()
            self._ready_timer = None
        self.exit_code = code
        self._proc = proc  # keep for pid in logs; state decides what status shows
        requested = self._stop_requested
        decision = self.policy.on_exit(Exit(code, requested, ran_for), time.monotonic())
        how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
        line = self.feed.publish("system", _with_decision(f"server {how}", decision))
        self.runs.end(line.seq, _now_iso(), code, decision.outcome)
        log.info("server_exited", pid=proc.pid, exit_code=code, requested=requested,
                 outcome=decision.outcome, restart_in=decision.restart_in)
        self.game.run_ended()
        self.crashes_total += decision.outcome == "crashed"
        self._follow(decision)
        self._set_state(ServerState.CRASHED if decision.outcome == "crashed" else ServerState.STOPPED)
        self._exited.set()
        if last_resort is not None:
            last_resort.release()
            if await last_resort.wait(self.settings.server_kill_timeout + 2):
                self._last_resorts.discard(last_resort)

    def _signal_group(self, proc: asyncio.subprocess.Process, sig: signal.Signals) -> None:
        # The child is its session's leader, so its pid is its process group id.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)

    def _child_environment(self) -> dict[str, str]:
        secrets = set(self.settings.secret_values())
        return {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("VS_API_KEY") and value not in secrets
        }

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


def _now_iso(now: float | None = None) -> str:
    moment = datetime.now(UTC) if now is None else datetime.fromtimestamp(now, UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _ask_for_sigterm_when_orphaned() -> None:
    """In the child, before exec: if vsmanager dies without stopping it (SIGKILL, OOM), the
    kernel sends the game SIGTERM, which a Vintage Story server answers by saving and exiting."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
