"""A throwaway systemd machine for the deploy tests: this host's own /usr, booted by
``systemd-nspawn -b`` on an empty tmpfs root (``--volatile=yes``: nothing it writes outlives
it), with a private network (loopback only) and this checkout bound read-only at its own path.

Commands run inside through ``nsenter``; files are written through ``/proc/<pid 1>/root``.
The machine is powered off (then killed, bounded) however the tests end.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness import TIME_SCALE

NSPAWN = shutil.which("systemd-nspawn")
NSENTER = shutil.which("nsenter")
REPO = Path(__file__).resolve().parents[2]
BOOT_TIMEOUT_S = 60.0
POWEROFF_TIMEOUT_S = 20.0
# What a kernel or a sandbox says when it will not give a container what it needs.
_REFUSALS = ("Operation not permitted", "Function not implemented", "not supported",
             "Permission denied", "No such device")


def unavailable() -> str | None:
    """Why no machine can be booted here, or None."""
    if sys.platform != "linux":
        return "systemd-nspawn runs on Linux only"
    if os.geteuid() != 0:
        return "booting a container with systemd-nspawn needs root"
    if NSPAWN is None or NSENTER is None:
        return "systemd-nspawn (Debian: systemd-container) or nsenter (util-linux) not installed"
    if not Path("/usr/lib/systemd/systemd").exists():
        return "no systemd in /usr/lib/systemd to boot"
    return None


def _python_outside_usr() -> list[str]:
    """The checkout's venv runs on this Python; the machine has only this host's /usr."""
    base = Path(sys.base_prefix).resolve()
    return [] if base.is_relative_to("/usr") else [f"--bind-ro={base}"]


@dataclass
class JournalEntry:
    at: float  # seconds since the epoch
    message: str

    def event(self) -> dict[str, object]:
        """vsmanager's log line as JSON (it logs JSON when stderr is no terminal), or {}."""
        with contextlib.suppress(ValueError):
            value = json.loads(self.message)
            if isinstance(value, dict):
                return value
        return {}


class Machine:
    def __init__(self, log_path: Path) -> None:
        self.name = f"vsm-{os.getpid()}"
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.leader = 0

    # -- life --------------------------------------------------------------------------------

    def boot(self) -> None:
        assert NSPAWN is not None
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [NSPAWN, "--quiet", "--directory=/", "--volatile=yes", "--register=no",
                 "--keep-unit", "--private-network", f"--machine={self.name}",
                 f"--bind-ro={REPO}", *_python_outside_usr(), "--console=pipe", "--boot",
                 # Only what a service needs (the journal, D-Bus-less systemctl): fast.
                 "systemd.unit=basic.target", "systemd.firstboot=no",
                 # A checkout under /tmp (CI's may be) stays in sight: no tmpfs over /tmp.
                 "systemd.mask=tmp.mount"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + BOOT_TIMEOUT_S * TIME_SCALE
        while not self.leader:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise MachineRefused(self._boot_failure())
            self.leader = self._init_pid()
            time.sleep(0.1)
        self._open_the_way_to_python()
        while True:
            state = self.run(["systemctl", "is-system-running"], check=False).stdout.strip()
            if state in ("running", "degraded"):
                return
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise MachineRefused(self._boot_failure() + f"\nsystem state: {state}")
            time.sleep(0.2)

    def poweroff(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # nspawn turns SIGTERM into an orderly shutdown of the machine.
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(POWEROFF_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(POWEROFF_TIMEOUT_S)

    def _open_the_way_to_python(self) -> None:
        """A Python outside /usr (pyenv's under /root) is bound at its own path: the folders
        made on the machine's tmpfs to hold it must let the service's user through."""
        base = Path(sys.base_prefix).resolve()
        if not base.is_relative_to("/usr"):
            for folder in base.parents:
                if folder != Path("/"):
                    self.path(str(folder)).chmod(0o755)

    def _init_pid(self) -> int:
        assert self.process is not None
        with contextlib.suppress(OSError, ValueError):
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
            for pid in children.split():
                if Path(f"/proc/{pid}/comm").read_text().strip() == "systemd":
                    return int(pid)
        return 0

    def _boot_failure(self) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return f"the machine did not boot:\n{text[-3000:]}"

    # -- inside ------------------------------------------------------------------------------

    def run(self, argv: Sequence[str], *, input: str | None = None, timeout: float = 60.0,
            check: bool = True, env: dict[str, str] | None = None,
            net_only: bool = False) -> subprocess.CompletedProcess[str]:
        """Run a command in the machine (all its namespaces), or only in its network with
        ``net_only`` (this host's files and programs, the machine's loopback)."""
        assert NSENTER is not None
        scope = ["-n"] if net_only else ["-a"]
        result = subprocess.run(
            [NSENTER, "-t", str(self.leader), *scope, "--", *argv], input=input,
            capture_output=True, text=True, timeout=timeout * TIME_SCALE, check=False,
            env=env)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {result.returncode}:\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def popen(self, argv: Sequence[str], **kwargs: object) -> subprocess.Popen[str]:
        """A background command in the machine's network (for a console watcher)."""
        assert NSENTER is not None
        return subprocess.Popen([NSENTER, "-t", str(self.leader), "-n", "--", *argv],
                                text=True, **kwargs)  # type: ignore[call-overload, no-any-return]

    def path(self, inside: str) -> Path:
        """A path inside the machine, as this host reaches it."""
        return Path(f"/proc/{self.leader}/root") / inside.lstrip("/")

    def write(self, inside: str, text: str, owner: int | None = None, mode: int = 0o644) -> None:
        path = self.path(inside)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)
        if owner is not None:
            os.chown(path, owner, owner)

    def systemctl(self, *args: str, check: bool = True, timeout: float = 120.0) -> str:
        return self.run(["systemctl", "--no-pager", *args], check=check, timeout=timeout).stdout

    def show(self, unit: str, prop: str) -> str:
        return self.systemctl("show", "--value", "-p", prop, unit).strip()

    def journal(self, unit: str, since: float = 0.0) -> list[JournalEntry]:
        out = self.run(["journalctl", "--no-pager", "-o", "json", "-u", unit,
                        "--output-fields=MESSAGE"]).stdout
        entries = []
        for line in out.splitlines():
            record = json.loads(line)
            at = int(record["__REALTIME_TIMESTAMP"]) / 1e6
            message = record.get("MESSAGE")
            if isinstance(message, list):  # not UTF-8: journald gives the bytes
                message = bytes(message).decode(errors="replace")
            if at >= since and isinstance(message, str):
                entries.append(JournalEntry(at, message))
        return entries


class MachineRefused(Exception):
    """The machine did not boot; ``kernel_refused`` says whether this host will not allow it."""

    @property
    def kernel_refused(self) -> str | None:
        for line in str(self).splitlines():
            if any(refusal in line for refusal in _REFUSALS):
                return line.strip()
        return None


@contextlib.contextmanager
def machine(log_path: Path) -> Iterator[Machine]:
    box = Machine(log_path)
    try:
        box.boot()
        yield box
    finally:
        box.poweroff()
