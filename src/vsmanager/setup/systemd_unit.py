"""A systemd unit for vsmanager that is right for a game server; pure, from a few facts."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vsmanager import __version__

# vsmanager's shutdown waits for the game at most the stop timeout plus twice the kill timeout
# (SIGTERM, then SIGKILL) plus 5 s; beyond that it needs uvicorn's graceful close of the sockets
# (5 s), the leftovers' end, and slack for a loaded machine.
SHUTDOWN_MARGIN_S = 30
RESTART_SEC = 5
# Each WebSocket client holds a descriptor; systemd's default soft limit is 1024.
OPEN_FILES = 65536

@dataclass(frozen=True)
class UnitFacts:
    executable: Path
    config: Path
    stop_timeout_s: float
    kill_timeout_s: float
    writable: Sequence[Path] = ()
    workdir: Path | None = None
    user: str | None = None
    serve_args: Sequence[str] = field(default_factory=tuple)
    description: str = "vsmanager: a Vintage Story server and its web console"


def stop_timeout(stop_timeout_s: float, kill_timeout_s: float) -> int:
    """TimeoutStopSec: longer than vsmanager's own bounded shutdown, so systemd never cuts it."""
    return math.ceil(stop_timeout_s + 2 * kill_timeout_s) + SHUTDOWN_MARGIN_S


def render(facts: UnitFacts) -> str:
    command = [str(facts.executable), "serve", "--config", str(facts.config), *facts.serve_args]
    writable = _unique(facts.writable)
    lines = [
        f"# vsmanager.service, written by `vsmanager systemd-unit` (vsmanager {__version__}).",
        "# Save it as /etc/systemd/system/vsmanager.service, then:",
        "#   systemctl daemon-reload && systemctl enable --now vsmanager",
        "[Unit]",
        f"Description={_escape(facts.description)}",
        "After=network.target",
        "",
        "[Service]",
        "Type=exec",
    ]
    if facts.user:
        lines.append(f"User={facts.user}")
    lines.append("ExecStart=" + " ".join(_quote(arg) for arg in command))
    if facts.workdir:
        lines.append(f"WorkingDirectory={_quote(str(facts.workdir))}")
    lines += [
        "# systemd's SIGTERM goes to vsmanager alone, which stops the game with the game's own",
        "# stop command (the world is saved), then SIGTERM, then SIGKILL; systemd kills what is",
        "# left of the unit only once TimeoutStopSec has passed.",
        "KillMode=mixed",
        f"# {facts.stop_timeout_s:g} s stop timeout + 2 x {facts.kill_timeout_s:g} s kill timeout "
        f"(SIGTERM, then SIGKILL) + {SHUTDOWN_MARGIN_S} s for vsmanager's own shutdown",
        f"TimeoutStopSec={stop_timeout(facts.stop_timeout_s, facts.kill_timeout_s)}",
        "Restart=on-failure",
        f"RestartSec={RESTART_SEC}",
        "# Log lines reach the journal as they are written.",
        "Environment=PYTHONUNBUFFERED=1",
        f"LimitNOFILE={OPEN_FILES}",
        "# Hardening that leaves the game alone: the whole file system read-only but the game's",
        "# folders, a private /tmp, no privilege gained through setuid. No MemoryDenyWriteExecute:",
        "# .NET's JIT writes the code it runs.",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
    ]
    if writable:
        lines.append("ReadWritePaths=" + " ".join(_quote(str(path)) for path in writable))
    lines += [
        "PrivateTmp=yes",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectControlGroups=yes",
        "RestrictSUIDSGID=yes",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
    ]
    return "\n".join(lines) + "\n"


def _unique(paths: Sequence[Path]) -> list[Path]:
    seen: list[Path] = []
    for path in paths:
        if path not in seen:
            seen.append(path)
    return seen


def _escape(text: str) -> str:
    # "%" starts a specifier in every unit setting.
    return text.replace("%", "%%")


def _quote(arg: str) -> str:
    """One word of a unit's command line or path list, quoted the way systemd splits them."""
    arg = _escape(arg).replace("$", "$$")
    if arg and not re.search(r"[\s\"'\\;]", arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'
