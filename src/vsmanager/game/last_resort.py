"""The supervisor of last resort: a tiny process beside each run of the game that stops the
game the way vsmanager would (its stop command, then SIGTERM, then SIGKILL) if vsmanager dies
without doing so (SIGKILL, OOM kill, a crash).

vsmanager starts it before the game, then sends it over a socket the game's pid and its own
ends of the game's console (the stdin it writes, the stdout and stderr it reads), which the
process holds without reading while vsmanager lives. End of file on the socket means vsmanager
is done with this run, or gone: if the game's group still has a live process, it writes the
stop command to the game, relays what the game prints (its save lines) to its own standard
error (the journal under systemd), and escalates after the stop and kill timeouts. Reading
the console also keeps the game's writes from failing once vsmanager is gone. It holds a copy
of vsmanager's instance lock until the group is gone, so the next vsmanager cannot start a
second game on the same world while this one saves.
See docs/reliability.md. It imports only the standard library and procfs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from vsmanager.game.procfs import group_alive

POLL_S = 0.05
# After SIGKILL, how long to wait for the group's processes to be gone before giving up.
KILL_WAIT_S = 10.0
# Once the game is gone, how long its relayed last lines may take to be written out.
RELAY_FLUSH_S = 2.0
# A line longer than this is relayed in pieces.
RELAY_LINE_BYTES = 65536
_PREFIX = "vsmanager last resort: "


# The relays (a thread per pipe) and the main thread report at the same time; print() writes
# the text and its line end in two calls, so another report could land between them.
_SAYING = threading.Lock()


def _say(text: str) -> None:
    with _SAYING, contextlib.suppress(OSError):
        sys.stderr.write(_PREFIX + text + "\n")
        sys.stderr.flush()


def _wait_gone(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while group_alive(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_S)
    return True


class GameConsole:
    """Copies of vsmanager's ends of the game's console: its stdin, its stdout and stderr."""

    def __init__(self, fds: list[int]) -> None:
        self.stdin = fds[0] if fds else None
        self.outputs = fds[1:]
        self._relays: list[threading.Thread] = []

    def send(self, command: str) -> bool:
        """Write a command line; False if the game cannot be reached that way."""
        if self.stdin is None:
            return False
        try:
            os.set_blocking(self.stdin, False)  # a game that reads nothing must not hold us
            return os.write(self.stdin, command.encode() + b"\n") > 0
        except OSError:  # BlockingIOError (the game reads nothing), BrokenPipeError
            return False

    def relay(self) -> None:
        """From now on, copy what the game prints to our standard error, line by line."""
        for fd in self.outputs:
            with contextlib.suppress(OSError):
                os.set_blocking(fd, True)
            thread = threading.Thread(target=_relay_lines, args=(fd,), daemon=True)
            thread.start()
            self._relays.append(thread)

    def finish(self) -> None:
        """The game is gone: let the relays write its last lines (bounded)."""
        deadline = time.monotonic() + RELAY_FLUSH_S
        for thread in self._relays:
            thread.join(max(0.0, deadline - time.monotonic()))


def _relay_lines(fd: int) -> None:
    pending = b""
    with contextlib.suppress(OSError):
        while chunk := os.read(fd, 65536):
            *lines, pending = (pending + chunk).split(b"\n")
            if len(pending) > RELAY_LINE_BYTES:
                lines.append(pending)
                pending = b""
            for line in lines:
                _say("game: " + line.decode(errors="replace").rstrip("\r"))
    if pending:
        _say("game: " + pending.decode(errors="replace"))


def _receive_game(control: socket.socket) -> tuple[int | None, list[int]]:
    """The game's pid and console, the first message vsmanager sends; (None, []) if the
    socket ends before it."""
    try:
        message, fds, _, _ = socket.recv_fds(control, 64, 3)
    except OSError:
        return None, []
    line = message.partition(b"\n")[0].strip()
    if not line.isdigit():
        for fd in fds:
            os.close(fd)
        return None, []
    return int(line), fds


def _stop(pgid: int, console: GameConsole, stop_command: str, stop_timeout: float,
          kill_timeout: float) -> bool:
    """vsmanager's stop sequence; True once the group is gone."""
    gone = f"vsmanager is gone and the game (process group {pgid}) is not"
    if stop_command and console.send(stop_command):
        _say(f"{gone}; sending it {stop_command!r}")
        if _wait_gone(pgid, stop_timeout):
            return True
        _say(f"the game did not exit {stop_timeout:g} s after {stop_command!r}; sending SIGTERM")
    else:
        _say(f"{gone}; sending SIGTERM")
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    if _wait_gone(pgid, kill_timeout):
        return True
    _say(f"the game did not exit {kill_timeout:g} s after SIGTERM; sending SIGKILL")
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    return _wait_gone(pgid, KILL_WAIT_S)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    stop_timeout, kill_timeout = float(args[0]), float(args[1])
    stop_command = args[2] if len(args) > 2 else ""
    # A Ctrl+C or a hang-up meant for vsmanager is not for us: we end when our pipe does.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    control = socket.socket(fileno=0)
    pgid, fds = _receive_game(control)
    if pgid is None:
        return 0
    console = GameConsole(fds)
    with contextlib.suppress(OSError):
        while control.recv(4096):
            pass
    if not group_alive(pgid):
        return 0
    console.relay()
    started = time.monotonic()
    ended = _stop(pgid, console, stop_command, stop_timeout, kill_timeout)
    console.finish()
    if ended:
        _say(f"the game is gone, {time.monotonic() - started:.1f} s after vsmanager")
    return 0 if ended else 1


class LastResort:
    """vsmanager's side: spawn one per run before the game, :meth:`attach` the game to it,
    :meth:`release` when the run is over."""

    def __init__(self, process: subprocess.Popen[bytes], control: socket.socket) -> None:
        self.process = process
        self.control = control

    @classmethod
    def spawn(cls, stop_command: str, stop_timeout: float, kill_timeout: float,
              lock_fd: int | None) -> LastResort:
        ours, theirs = socket.socketpair()
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "vsmanager.game.last_resort", f"{stop_timeout:g}",
                 f"{kill_timeout:g}", stop_command],
                stdin=theirs.fileno(),
                stdout=subprocess.DEVNULL,
                pass_fds=() if lock_fd is None else (lock_fd,),
                # Its own session: a terminal's Ctrl+C or hang-up, or a signal to vsmanager's
                # group, must not take it down with vsmanager.
                start_new_session=True,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        return cls(process, ours)

    @property
    def pid(self) -> int:
        return self.process.pid

    def attach(self, pid: int, console: list[int]) -> bool:
        """Name the game it watches and hand it our ends of the game's console (stdin,
        stdout, stderr); False if it is not there to take them."""
        try:
            socket.send_fds(self.control, [f"{pid}\n".encode()], console)
        except OSError:
            return False
        return True

    def release(self) -> None:
        """vsmanager is done with the run: the process checks the group once and exits."""
        self.control.close()

    def discard(self) -> None:
        """No game was started: end the process now and reap it."""
        self.control.close()
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.process.wait()

    async def wait(self, timeout: float) -> bool:
        """Reap it (bounded); False if it is still busy ending the group."""
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(POLL_S)
        return True


if __name__ == "__main__":
    sys.exit(main())
