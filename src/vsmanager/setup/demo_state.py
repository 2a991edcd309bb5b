"""Where a demo runs: ``vsmanager demo`` notes its URL and the keys it made in a file only
its user can read, so that running it again on the same port points at the running one
(with its keys) instead of printing new keys that nothing accepts and failing to listen.

The file is ``$XDG_CONFIG_HOME/vsmanager/demo-PORT.json``; it is removed when the demo ends
and ignored once its process is gone (a demo killed with SIGKILL leaves it behind).
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import socket
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

FILE_MODE = 0o600


@dataclass(frozen=True)
class DemoRecord:
    pid: int
    url: str
    admin_key: str | None  # None: the user's own, from VS_API_KEY_ADMIN (never written here)
    monitor_key: str | None


def record_path(port: int, env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "vsmanager" / f"demo-{port}.json"


def write_record(record: DemoRecord, port: int) -> Path:
    path = record_path(port)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # The keys are secrets: the file is its owner's alone from its first byte.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        os.fchmod(stream.fileno(), FILE_MODE)
        json.dump(asdict(record), stream)
    return path


def read_record(port: int) -> DemoRecord | None:
    """The running demo's record; None without one, or when its process is gone."""
    try:
        data = json.loads(record_path(port).read_text(encoding="utf-8"))
        record = DemoRecord(int(data["pid"]), str(data["url"]), data.get("admin_key"),
                            data.get("monitor_key"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record if _alive(record.pid) else None


def remove_record(port: int) -> None:
    """Remove the record if it is this process's (a newer demo may have replaced it)."""
    record = read_record(port)
    if record is not None and record.pid == os.getpid():
        with contextlib.suppress(OSError):
            record_path(port).unlink()


def port_taken(host: str, port: int) -> bool:
    """Whether another process listens there (bound as serve binds, so TIME_WAIT is no)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except OSError:
        return False  # serve says what is wrong with the address
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError:
            return True
    return False


def command_name(argv0: str | None = None) -> str:
    """How to run this vsmanager from a shell: ``vsmanager`` when that is the one on PATH,
    else its full path (a checkout's .venv/bin is not on PATH)."""
    me = Path(argv0 if argv0 is not None else sys.argv[0])
    if me.name == "vsmanager" and me.is_file():
        on_path = shutil.which("vsmanager")
        if on_path is not None and Path(on_path).resolve() == me.resolve():
            return "vsmanager"
        return shlex.quote(str(me.absolute()))
    return f"{shlex.quote(sys.executable)} -m vsmanager"


def terminal_command(url: str, admin_key: str | None, argv0: str | None = None) -> str:
    """The client command line, ready to paste (the user's own key by its variable)."""
    key = shlex.quote(admin_key) if admin_key is not None else '"$VS_API_KEY_ADMIN"'
    return f"VS_URL={shlex.quote(url)} VS_API_KEY={key} {command_name(argv0)} console"


def environment(record: DemoRecord) -> str:
    """Shell lines that point the terminal client at the demo (for ``eval``)."""
    key = shlex.quote(record.admin_key) if record.admin_key is not None else '"$VS_API_KEY_ADMIN"'
    return f"export VS_URL={shlex.quote(record.url)} VS_API_KEY={key}"


def banner(heading: str, record: DemoRecord) -> str:
    base = record.url
    admin = record.admin_key or "(yours, from VS_API_KEY_ADMIN)"
    monitor = record.monitor_key or "(yours, from VS_API_KEY_MONITOR)"
    return (f"{heading}\n"
            f"  web console   {base}/\n"
            f"  admin key     {admin}\n"
            f"  monitor key   {monitor}\n"
            f"  API docs      {base}/docs\n"
            f"  terminal      {terminal_command(base, record.admin_key)}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
