"""One run of the game: spawn it with its console captured, watch for its exit, stop it the
escalating way (its own stop command, SIGTERM, SIGKILL), and reap it with everything it left
in its process group. The supervisor (``supervisor``) decides when; a run only does."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from vsmanager.config.fields import ENV_PREFIX
from vsmanager.config.settings import Settings
from vsmanager.console.buffer import Stream
from vsmanager.console.capture import STDERR_FD, STDOUT_FD, GameProtocol, LineSink, PipeCapture
from vsmanager.console.feed import ConsoleFeed
from vsmanager.game import procfs
from vsmanager.game.confinement import ConfinementError, game_plan, kernel_abi
from vsmanager.game.launch import executable_problem, launch_argv
from vsmanager.game.leftovers import Leftovers

# After the game exits (and its group is killed), how long its pipes may stay open before
# vsmanager looks for who holds them: the game's last lines are read well within it.
PIPE_GRACE_S = 0.25
# With nobody found holding them, how long more to wait for the pipes to close.
PIPE_DRAIN_TIMEOUT_S = 5.0
EXIT_CHECK_S = 1.0  # a safety net: the protocol says when the game exits (GameProtocol.exited)
_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
# Variables of vsmanager's that are no VS_* setting but still lead to its secrets.
_VSMANAGER_ONLY = frozenset({"CREDENTIALS_DIRECTORY"})


class SpawnFailed(Exception):
    """The game could not be started; ``problem`` says why, for the console."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


class InputRefused(Exception):
    """The game's console input cannot take a command; ``code`` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class GameRun:
    """The game's process from spawn to reaping. Make one with :meth:`spawn`; await
    :meth:`watch` once (it returns when the process and its pipes are done); :meth:`stop`
    asks it to end."""

    def __init__(
        self,
        settings: Settings,
        feed: ConsoleFeed,
        leftovers: Leftovers,
        proc: asyncio.subprocess.Process,
        transport: asyncio.SubprocessTransport,
        captures: dict[int, PipeCapture],
        exited: asyncio.Future[None],
    ) -> None:
        self._settings = settings
        self._feed = feed
        self._leftovers = leftovers
        self.proc = proc
        self._transport = transport
        self._captures = captures
        self._exited = exited
        self.pipes = procfs.pipe_inodes(proc.pid)
        self.started_monotonic = time.monotonic()
        self.started_at = now_iso()
        self.ran_for: float | None = None  # seconds from spawn to exit, once exited
        self._ended = asyncio.Event()

    @classmethod
    async def spawn(
        cls, settings: Settings, feed: ConsoleFeed, leftovers: Leftovers, on_line: LineSink,
        orphan_sigterm: bool = True,
    ) -> GameRun:
        """Start the game in a session of its own, its stdout and stderr lines going to
        ``on_line`` from the first byte, once :meth:`open_console` is called (what comes
        before is kept until then). With ``orphan_sigterm`` (no supervisor of last resort to
        do better) the kernel sends it SIGTERM if vsmanager dies. Raises :class:`SpawnFailed`."""
        argv = settings.server_argv
        try:
            plan = game_plan(settings, kernel_abi())
            plan_json = plan.to_json()
        except (ConfinementError, ValueError) as exc:
            raise SpawnFailed(str(exc)) from None
        env = child_environment(settings, plan.user)
        problem = executable_problem(argv[0], settings.server_workdir, env.get("PATH"))
        if problem is not None:
            raise SpawnFailed(problem)
        loop = asyncio.get_running_loop()
        streams: tuple[tuple[int, Stream], ...] = ((STDOUT_FD, "stdout"), (STDERR_FD, "stderr"))
        captures = {
            fd: PipeCapture(stream, on_line, settings.console_max_line_bytes,
                            settings.console_partial_flush_s, loop, feed, gated=True)
            for fd, stream in streams
        }
        try:
            transport, protocol = await loop.subprocess_exec(
                lambda: GameProtocol(captures, loop),
                *launch_argv(argv, plan_json),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=settings.server_workdir,
                env=env,
                start_new_session=True,  # its own process group, so we can end all of it
                preexec_fn=_ask_for_sigterm_when_orphaned if orphan_sigterm else None,
            )
        except OSError as exc:
            raise SpawnFailed(f"{argv[0]!r}: {exc.strerror or exc}") from None
        proc = asyncio.subprocess.Process(transport, protocol, loop)
        return cls(settings, feed, leftovers, proc, transport, captures, protocol.exited)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def open_console(self) -> None:
        """Publish the game's output from now on, and what it printed while it was being
        started (the supervisor's start line goes first)."""
        for capture in self._captures.values():
            capture.open()

    def console_fds(self) -> list[int]:
        """vsmanager's ends of the game's stdin, stdout and stderr (pipes, or uvloop's
        sockets) that are still open, for the supervisor of last resort: stdin first, then
        the outputs; none without stdin. A game that ends at once has closed them before it
        is attached: the last resort has nothing to keep then."""
        fds = []
        for fd in (0, STDOUT_FD, STDERR_FD):
            pipe = self._transport.get_pipe_transport(fd)
            end: Any = None
            if pipe is not None:
                end = pipe.get_extra_info("pipe") or pipe.get_extra_info("socket")
            number = _open_fileno(end)
            if number is not None:
                fds.append(number)
            elif fd == 0:
                return []  # the last resort takes the first end for the game's stdin
        return fds

    def check_input(self) -> None:
        """Raise :class:`InputRefused` unless the game's stdin can take a line now."""
        stdin = self.proc.stdin
        assert stdin is not None
        if stdin.is_closing():
            raise InputRefused("server_not_running", "the server has closed its console input")
        if stdin.transport.get_write_buffer_size() > 0:
            raise InputRefused(
                "console_input_blocked",
                "the server is not reading its console input; the previous command is still "
                "waiting to be delivered",
            )

    async def write_line(self, text: str, timeout: float) -> None:
        """Write ``text`` and a newline to the game's stdin in one write and wait (up to
        ``timeout`` seconds) until the pipe has taken it; raises :class:`InputRefused`."""
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            stdin.write(text.encode() + b"\n")
            await asyncio.wait_for(stdin.drain(), timeout)
        except TimeoutError:
            raise InputRefused(
                "console_input_blocked", "the server is not reading its console input"
            ) from None
        except (BrokenPipeError, ConnectionResetError, RuntimeError):
            # RuntimeError: uvloop's word for a pipe transport closed under the write.
            self._feed.publish("system", "command not delivered: the server closed its input")
            raise InputRefused(
                "server_not_running", "the server has closed its console input"
            ) from None

    async def watch(self) -> int:
        """Wait for the game to exit, end what it left in its group, read its last lines,
        and return its exit code (negative: the signal that killed it)."""
        proc = self.proc
        # Not Process.wait(): with asyncio's own loop it also waits for the pipes to close,
        # which a grandchild holding them would delay forever. The protocol hears the exit
        # itself; until then vsmanager sleeps (it polled 20 times a second, the larger part
        # of what an idle vsmanager cost).
        while proc.returncode is None:
            if self._exited.done():  # told, and the code not in yet: never spin on it
                await asyncio.sleep(EXIT_CHECK_S / 20)
            else:
                await asyncio.wait({self._exited}, timeout=EXIT_CHECK_S)
        code = proc.returncode
        self.ran_for = time.monotonic() - self.started_monotonic
        # Whatever the game left behind in its group goes too: no orphans, and its pipes close.
        self.signal_group(signal.SIGKILL)
        await self._drain_pipes()
        if proc.stdin is not None:
            proc.stdin.close()
        self._ended.set()
        return code

    async def _drain_pipes(self) -> None:
        """The last lines before the exit are in the pipes: read them to EOF, or give up on
        a pipe that a process outside the group holds open."""
        ends: list[asyncio.Future[Any]] = [capture.closed for capture in self._captures.values()]
        _, pending = await asyncio.wait(ends, timeout=PIPE_GRACE_S)
        if pending:
            holders = self._leftovers.find(self.pipes)
            if holders:
                names = Leftovers.describe(holders)
                self._feed.publish(
                    "system",
                    f"warning: process {names} outside the server's group still holds its "
                    "console; its output is not shown, and vsmanager ends it when it exits",
                )
            else:
                _, pending = await asyncio.wait(ends, timeout=PIPE_DRAIN_TIMEOUT_S)
        for fd, capture in self._captures.items():
            if capture.closed in pending:
                capture.abandon()
                pipe = self._transport.get_pipe_transport(fd)
                if pipe is not None:
                    pipe.close()

    async def wait_ended(self, timeout: float | None) -> bool:
        """True once :meth:`watch` is done (within ``timeout`` seconds)."""
        try:
            await asyncio.wait_for(self._ended.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def stop(self, at_once: bool = False) -> None:
        """Ask politely (the stop command), then SIGTERM, then SIGKILL, each after its
        timeout; :meth:`watch` reaps the process. ``at_once`` skips the stop command (a game
        still starting cannot read it)."""
        settings = self._settings
        if at_once:
            why = "the server is still starting and cannot read its stop command yet"
        elif self._write_stop_command():
            if await self.wait_ended(settings.server_stop_timeout):
                return
            why = f"server did not exit {settings.server_stop_timeout:g} s after "
            why += f"{settings.server_stop_command!r}"
        else:
            why = "no stop command to send"
        self._feed.publish("system", f"{why}; sending SIGTERM")
        self.signal_group(signal.SIGTERM)
        if await self.wait_ended(settings.server_kill_timeout):
            return
        self._feed.publish(
            "system",
            f"server did not exit {settings.server_kill_timeout:g} s after SIGTERM; sending SIGKILL",
        )
        self.signal_group(signal.SIGKILL)

    def _write_stop_command(self) -> bool:
        """Ask the game to stop its own way; False if there is no way to ask."""
        command = self._settings.server_stop_command
        stdin = self.proc.stdin
        if not command or stdin is None or stdin.is_closing():
            return False
        self._feed.publish("command", command)
        try:
            stdin.write(command.encode() + b"\n")
        except (BrokenPipeError, ConnectionResetError, RuntimeError):
            return False
        return True

    def signal_group(self, sig: signal.Signals) -> None:
        # The child is its session's leader, so its pid is its process group id.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)


def child_environment(settings: Settings, user: Mapping[str, object] | None = None) -> dict[str, str]:
    """vsmanager's environment without its keys and without anything that leads to them: no
    VS_* variable (they name the key files, the keys file and the config, or hold keys), nor
    systemd's directory of credentials. With VS_SERVER_USER, that user's HOME and names."""
    secrets = set(settings.secret_values())
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.upper().startswith(ENV_PREFIX) and name not in _VSMANAGER_ONLY
        and value not in secrets
    }
    if user is not None:
        env.update(HOME=str(user["home"]), USER=str(user["name"]), LOGNAME=str(user["name"]))
    return env


def now_iso(now: float | None = None) -> str:
    moment = datetime.now(UTC) if now is None else datetime.fromtimestamp(now, UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _ask_for_sigterm_when_orphaned() -> None:
    """In the child, before exec: if vsmanager dies without stopping it (SIGKILL, OOM), the
    kernel sends the game SIGTERM, which a Vintage Story server answers by saving and exiting."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _open_fileno(end: Any) -> int | None:
    """The descriptor of a pipe or socket end, or None if it is gone or closed (a closed
    file object raises, a closed socket says -1)."""
    if end is None:
        return None
    try:
        number = int(end.fileno())
    except (ValueError, OSError):
        return None
    return number if number >= 0 else None
