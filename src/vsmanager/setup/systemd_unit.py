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
# What ProtectHome= hides.
HOME_FOLDERS = (Path("/home"), Path("/root"), Path("/run/user"))

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
    # What vsmanager runs on besides its script (the Python interpreter, resolved).
    runtime: Sequence[Path] = ()


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
        "# `systemctl reload`: vsmanager re-reads its keys file (docs/security.md).",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "# systemd's SIGTERM goes to vsmanager alone, which stops the game with the game's own",
        "# stop command (the world is saved), then SIGTERM, then SIGKILL. If vsmanager dies",
        "# (kill -9, out of memory), its supervisor of last resort does the same, and systemd",
        "# must leave the two of them to it: KillMode=mixed would SIGKILL them at once.",
        "KillMode=process",
        f"# {facts.stop_timeout_s:g} s stop timeout + 2 x {facts.kill_timeout_s:g} s kill timeout "
        f"(SIGTERM, then SIGKILL) + {SHUTDOWN_MARGIN_S} s for vsmanager's own shutdown",
        f"TimeoutStopSec={stop_timeout(facts.stop_timeout_s, facts.kill_timeout_s)}",
        "Restart=on-failure",
        f"RestartSec={RESTART_SEC}",
        "# Log lines reach the journal as they are written.",
        "Environment=PYTHONUNBUFFERED=1",
        f"LimitNOFILE={OPEN_FILES}",
        "# Hardening that leaves the game alone: the whole file system read-only but the game's",
        "# folders, a private /tmp and /dev, no capabilities, no privilege gained through setuid.",
        "# No MemoryDenyWriteExecute: .NET's JIT writes the code it runs.",
        "NoNewPrivileges=yes",
    ]
    if facts.user:
        # As root (no User=), vsmanager may start the game as another user (server_user):
        # that needs root's capabilities.
        lines.append("CapabilityBoundingSet=")
    lines += [
        "ProtectSystem=strict",
        f"ProtectHome={_protect_home(facts)}",
    ]
    if writable:
        lines.append("ReadWritePaths=" + " ".join(_quote(str(path)) for path in writable))
    lines += [
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectKernelLogs=yes",
        "ProtectControlGroups=yes",
        "ProtectClock=yes",
        "ProtectHostname=yes",
        "RestrictSUIDSGID=yes",
        "RestrictNamespaces=yes",
        "RestrictRealtime=yes",
        "LockPersonality=yes",
        "SystemCallArchitectures=native",
        "# The web console and the game talk IP; .NET lists network interfaces over netlink.",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
        "UMask=0027",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
    ]
    return "\n".join(lines) + "\n"


def _protect_home(facts: UnitFacts) -> str:
    """Hide the home folders, unless vsmanager, its config or the game live in one."""
    paths = [facts.executable, *facts.runtime, facts.config, *facts.writable]
    if facts.workdir is not None:
        paths.append(facts.workdir)
    under_home = any(path.is_relative_to(home) for path in paths for home in HOME_FOLDERS)
    return "read-only" if under_home else "yes"


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
