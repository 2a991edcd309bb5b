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
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import structlog

from vsmanager.capture import STDERR_FD, STDOUT_FD, GameProtocol, PipeCapture
from vsmanager.console import Stream
from vsmanager.feed import ConsoleFeed
from vsmanager.profile import GameFacts, build_profile
from vsmanager.settings import Settings

log = structlog.get_logger("vsmanager.supervisor")

# After the game exits, how long its pipes may stay open (a grandchild holding them)
# before capture gives up on them.
PIPE_DRAIN_TIMEOUT_S = 5.0
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
        self.exit_code: int | None = None
        self.starts = 0
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
        return {
            "state": self.state.value,
            "pid": self.pid,
            "uptime_s": uptime,
            "exit_code": self.exit_code,
            "started_at": self._started_at if self.state in ALIVE else None,
            "restarts": max(0, self.starts - 1),
            "console_id": self.feed.console_id,
            "game": self.game.as_status(),
        }

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        async with self._lifecycle:
            await self._start()

    async def stop(self) -> None:
        """Begin a graceful stop and return; :meth:`wait_exited` waits for the end."""
        async with self._lifecycle:
            self._begin_stop()

    async def restart(self) -> None:
        """Stop (if alive) and start again, in the background; returns once under way."""
        async with self._lifecycle:
            if self.state is ServerState.STOPPING:
                raise LifecycleError("stopping", "the server is stopping; start it once stopped")
            if self.state in ALIVE:
                self._begin_stop()
            self._restarting = True
        self._spawn_task(self._finish_restart(), "restart")

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
        """vsmanager is exiting: stop the game the graceful way and wait for it, bounded."""
        if self.state in (ServerState.STARTING, ServerState.RUNNING):
            with contextlib.suppress(LifecycleError):
                await self.stop()
        budget = self.settings.server_stop_timeout + 2 * self.settings.server_kill_timeout + 5
        await self.wait_exited(budget)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def send_command(self, command: str) -> int:
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
        echo = self.feed.publish("command", command)
        try:
            stdin.write(command.encode() + b"\n")
            await asyncio.wait_for(stdin.drain(), self.settings.command_write_timeout)
        except TimeoutError:
            raise LifecycleError(
                "console_input_blocked", "the server is not reading its console input"
            ) from None
        except (BrokenPipeError, ConnectionResetError):
            self.feed.publish("system", "command not delivered: the server closed its input")
            raise LifecycleError(
                "server_not_running", "the server has closed its console input"
            ) from None
        self.feed.counters.command_sent(None)  # keys: pass the key's name once keys are named
        return echo.seq

    # -- internals ---------------------------------------------------------------------------

    async def _start(self) -> None:
        if self.state in ALIVE:
            raise LifecycleError(
                "stopping" if self.state is ServerState.STOPPING else "already_running",
                f"the server is already {self.state.value}",
            )
        argv = self.settings.server_argv
        loop = asyncio.get_running_loop()
        # Set before the game runs: its output may be read before the spawn call returns.
        self._ready = self.settings.ready_regex
        self._ready_seen = False
        streams: tuple[tuple[int, Stream], ...] = ((STDOUT_FD, "stdout"), (STDERR_FD, "stderr"))
        captures = {
            fd: PipeCapture(stream, self._capture_line, self.settings.console_max_line_bytes,
                            self.settings.console_partial_flush_s, loop)
            for fd, stream in streams
        }
        try:
            transport, protocol = await loop.subprocess_exec(
                lambda: GameProtocol(captures, loop),
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=self.settings.server_workdir,
                env=self._child_environment(),
                start_new_session=True,  # its own process group, so we can end all of it
                preexec_fn=_ask_for_sigterm_when_orphaned,
            )
        except OSError as exc:
            self.feed.publish("system", f"server failed to start: {exc.strerror or exc}")
            self.exit_code = None
            self._set_state(ServerState.CRASHED)
            raise LifecycleError("start_failed", f"could not start {argv[0]!r}: {exc}") from None
        proc = asyncio.subprocess.Process(transport, protocol, loop)
        self._proc = proc
        self.starts += 1
        self.exit_code = None
        self._stop_requested = False
        self._exited = asyncio.Event()
        self._started_monotonic = time.monotonic()
        self._started_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        self.feed.publish("system", f"server started (pid {proc.pid})")
        log.info("server_started", pid=proc.pid, argv0=argv[0])
        ready = self._ready is None or self._ready_seen
        self._set_state(ServerState.RUNNING if ready else ServerState.STARTING)
        self._spawn_task(self._watch(proc, transport, captures), "watch")

    def _begin_stop(self) -> None:
        if self.state not in (ServerState.STARTING, ServerState.RUNNING):
            code = "stopping" if self.state is ServerState.STOPPING else "not_running"
            raise LifecycleError(code, f"the server is {self.state.value}")
        assert self._proc is not None
        self._stop_requested = True
        self._set_state(ServerState.STOPPING)
        self.feed.publish("system", "stop requested")
        self._spawn_task(self._stop_sequence(self._proc), "stop")

    async def _finish_restart(self) -> None:
        try:
            await self.wait_exited()
            async with self._lifecycle:
                if self.state not in ALIVE:
                    with contextlib.suppress(LifecycleError):
                        await self._start()
        finally:
            self._restarting = False
            self._notify_state()

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
        except (BrokenPipeError, ConnectionResetError):
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
    ) -> None:
        # Process.wait() also waits for the pipes to close, which a grandchild holding them
        # would delay forever; the exit itself shows in returncode.
        waiter = asyncio.ensure_future(proc.wait())
        while proc.returncode is None:
            await asyncio.wait({waiter}, timeout=EXIT_POLL_S)
        code = proc.returncode
        # Whatever the game left behind in its group goes too: no orphans, and its pipes close.
        self._signal_group(proc, signal.SIGKILL)
        # The last lines before the exit are in the pipes: read them to EOF (bounded).
        ends: list[asyncio.Future[Any]] = [capture.closed for capture in captures.values()]
        _, pending = await asyncio.wait([*ends, waiter], timeout=PIPE_DRAIN_TIMEOUT_S)
        for fd, capture in captures.items():
            if capture.closed in pending:
                # Something outside the group still holds the pipe: stop reading it.
                capture.abandon()
                pipe = transport.get_pipe_transport(fd)
                if pipe is not None:
                    pipe.close()
        if proc.stdin is not None:
            proc.stdin.close()
        self.exit_code = code
        self._proc = proc  # keep for pid in logs; state decides what status shows
        if code < 0:
            how = f"was killed by {signal.Signals(-code).name}"
        else:
            how = f"exited with code {code}"
        self.feed.publish("system", f"server {how}")
        log.info("server_exited", pid=proc.pid, exit_code=code, requested=self._stop_requested)
        clean = self._stop_requested or code == 0
        self.game.run_ended()
        self.crashes_total += not clean
        self._set_state(ServerState.STOPPED if clean else ServerState.CRASHED)
        self._exited.set()

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

    def _notify_state(self) -> None:
        self._state_changed.set()
        self._state_changed = asyncio.Event()

    def _publish_status(self) -> None:
        self.feed.publish_status(self.status())

    def _spawn_task(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=f"supervisor-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("supervisor_task_failed", task=task.get_name(), exc_info=task.exception())


def _ask_for_sigterm_when_orphaned() -> None:
    """In the child, before exec: if vsmanager dies without stopping it (SIGKILL, OOM), the
    kernel sends the game SIGTERM, which a Vintage Story server answers by saving and exiting."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
