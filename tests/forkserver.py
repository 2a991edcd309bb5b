"""Start ``vsmanager serve`` for the tests by forking a process that has imported it already.

Most of the suite's CPU went on importing the web stack afresh for every vsmanager a test
starts (about a second of CPU each, some 250 starts a run, on a 2-core machine). A fork
server per test worker imports it once; each start is then a fork of it that sets the
test's environment, working directory, session and output files, and runs the command line's
``run()`` as ``python -m vsmanager`` would. The child is a real process with its own pid,
session and sockets; only the imports are shared. ``VS_TEST_FORKSERVER=0`` turns it off
(every start a fresh interpreter), to compare.

Run as a script, this module is the server: ``python -u forkserver.py SOCKET``. The tests' side
is :func:`spawn`, which returns a :class:`ForkedProcess` with the part of ``Popen``'s API the
harness uses.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ENABLED = os.environ.get("VS_TEST_FORKSERVER", "1") != "0"
# What `vsmanager serve` imports on its way to serving, loaded once by the server.
PRELOAD = ("vsmanager.__main__", "vsmanager.cli", "vsmanager.serving", "vsmanager.app")
_MAX_REQUEST = 1 << 20
_PR_SET_PDEATHSIG = 1


class ForkedProcess:
    """A child of the fork server, watched through its connection: the server writes the
    exit code there when it reaps the child."""

    def __init__(self, conn: socket.socket, pid: int, args: Sequence[str], read: bytes = b"") -> None:
        self._conn = conn
        self._read = read  # what came after the pid line: the exit line, for a quick child
        self.pid = pid
        self.args = list(args)
        self.returncode: int | None = None

    def __repr__(self) -> str:
        return f"<ForkedProcess pid={self.pid} returncode={self.returncode} args={self.args!r}>"

    def poll(self) -> int | None:
        if self.returncode is None:
            self._read_exit(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None and not self._read_exit(timeout):
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def _read_exit(self, timeout: float | None) -> bool:
        data, self._read = self._read, b""
        if not data:
            self._conn.settimeout(timeout)
            try:
                data = self._conn.recv(64)
            except (TimeoutError, BlockingIOError):
                return False
        self._conn.settimeout(5)  # the line is a few bytes, written at once
        try:
            self.returncode, _ = _number_line(
                self._conn, data, f"the fork server went away before {self.pid} exited")
        finally:
            self._conn.close()
        return True


def _number_line(conn: socket.socket, start: bytes, went_away: str) -> tuple[int, bytes]:
    """The number on the next line the server writes (a pid, an exit code), ``start`` what
    was read of it already; and what was read past it. A child that exits at once has its
    pid and exit lines come in one read."""
    data = start
    while b"\n" not in data:
        chunk = conn.recv(64)
        if not chunk:
            raise RuntimeError(went_away)
        data += chunk
    line, _, rest = data.partition(b"\n")
    return int(line), rest


class _Server:
    """One per test worker, started on first use, gone with the worker."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="vsm-forkserver-")
        self.path = str(Path(self._dir.name) / "socket")
        self.process = subprocess.Popen(
            [sys.executable, "-u", __file__, self.path],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=None)
        deadline = time.monotonic() + 60
        while not os.path.exists(self.path):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the fork server did not start")
            time.sleep(0.02)
        atexit.register(self.close)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._dir.cleanup()


_server: _Server | None = None


def spawn(argv: Sequence[str], env: dict[str, str], stdout: int, stderr: int,
          cwd: str | None = None) -> ForkedProcess:
    """Run ``python -m vsmanager ARGV`` as a fork of the server, in a new session, stdin from
    /dev/null, stdout and stderr to the given file descriptors."""
    global _server
    if _server is None:
        _server = _Server()
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(30)
    conn.connect(_server.path)
    request = json.dumps({"argv": list(argv), "env": env, "cwd": cwd or os.getcwd()}).encode()
    with open(os.devnull, "rb") as devnull:
        socket.send_fds(conn, [request], [devnull.fileno(), stdout, stderr])
    pid, rest = _number_line(conn, b"", "the fork server refused the start")
    return ForkedProcess(conn, pid, [sys.executable, "-m", "vsmanager", *argv], rest)


# -- the server --------------------------------------------------------------------------


def _serve(path: str) -> None:
    with contextlib.suppress(OSError):
        import ctypes
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # gone with its worker
    import importlib
    for name in PRELOAD:
        importlib.import_module(name)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path + ".tmp")
    listener.listen(64)
    os.rename(path + ".tmp", path)  # the worker waits for the name: ready once it is there
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, None)
    while True:
        for key, _ in selector.select():
            if key.data is None:
                conn, _ = listener.accept()
                _start_one(conn, listener, selector)
            else:
                _report_exit(selector, key.fileobj, *key.data)  # type: ignore[arg-type]


def _start_one(conn: socket.socket, listener: socket.socket,
               selector: selectors.BaseSelector) -> None:
    message, fds, _, _ = socket.recv_fds(conn, _MAX_REQUEST, 3)
    request = json.loads(message)
    pid = os.fork()
    if pid == 0:
        _child(request, fds)  # never returns
    for fd in fds:
        os.close(fd)
    pidfd = os.pidfd_open(pid)
    selector.register(pidfd, selectors.EVENT_READ, (pid, conn))
    conn.sendall(f"{pid}\n".encode())


def _report_exit(selector: selectors.BaseSelector, pidfd: int, pid: int,
                 conn: socket.socket) -> None:
    selector.unregister(pidfd)
    os.close(pidfd)
    _, status = os.waitpid(pid, 0)
    with contextlib.suppress(OSError):
        conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
    conn.close()


def _child(request: dict[str, Any], fds: list[int]) -> None:
    code = 1
    try:
        os.setsid()  # as Popen(start_new_session=True): the harness ends it with killpg
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.closerange(3, 65536)  # the listener, other children's connections and pidfds
        # The server's signal dispositions are a fresh interpreter's (SIGPIPE and SIGXFSZ
        # ignored, SIGINT a KeyboardInterrupt), and the child keeps them: with SIGPIPE at its
        # default, a client that closes first would kill vsmanager.
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        os.environ.clear()
        os.environ.update(request["env"])
        time.tzset()
        os.chdir(request["cwd"])
        sys.argv = [sys.executable, *request["argv"]]
        from vsmanager.__main__ import run
        run()
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    _serve(sys.argv[1])
