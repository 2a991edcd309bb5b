"""What the game may touch: the Landlock plan the exec shim applies (docs/security.md).

Landlock denies by default: a rule allows a right on a folder and everything beneath it, and
nothing can take a right back below. So the plan starts from the folders the game needs
(the system read-only; its working directory, data folder and temporary folders read-write)
and, where one of them holds something the game must not touch (a key file, the keys file,
the config, the audit log: *hidden*; vsmanager's own code: *read-only*), allows that folder's
entries one by one instead of the folder, down to the protected file, which gets no rule.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import vsmanager
from vsmanager.config.confinement_settings import game_user, split_paths
from vsmanager.config.settings import Settings
from vsmanager.game import exec_shim
from vsmanager.game.data_folder import data_path

READ = exec_shim.READ_FILE | exec_shim.READ_DIR | exec_shim.EXECUTE
WRITE = ((1 << 16) - 1) & ~READ
READ_WRITE = READ | WRITE

# What any program needs to run, read-only: libraries, the runtime (.NET lives under /usr or
# /opt), /etc (certificates, time zone, name resolution), and the kernel's views (.NET reads
# cgroup limits and CPU counts from /proc and /sys). Paths that do not exist are skipped.
SYSTEM_READ = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin", "/etc", "/opt",
               "/proc", "/sys", "/run/systemd/resolve", "/run/resolvconf")
# Scratch space every program may expect to write.
SYSTEM_WRITE = ("/tmp", "/var/tmp", "/dev/shm")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty")
# Linux refuses a single argument longer than this (MAX_ARG_STRLEN); the plan is one.
MAX_PLAN_BYTES = 128 * 1024 - 1
CAP_SETGID, CAP_SETUID = 6, 7


class ConfinementError(ValueError):
    """A plan that cannot be carried out; the message says what to change."""


@dataclass
class Plan:
    """What the shim does before exec: the rules (path, rights) under Landlock ``abi`` (0:
    none), and the user to become (None: stay)."""

    abi: int
    rules: list[tuple[str, int]] = field(default_factory=list)
    user: dict[str, object] | None = None

    def to_json(self) -> str:
        text = json.dumps({"abi": self.abi, "rules": self.rules, "user": self.user},
                          separators=(",", ":"))
        if len(text.encode()) > MAX_PLAN_BYTES:
            raise ConfinementError(
                f"the game's confinement needs {len(self.rules)} rules, too many to pass: a "
                "folder beside a secret file holds too many entries; keep vsmanager's key, keys, "
                "config and audit files in a folder of their own (e.g. /etc/vsmanager)")
        return text


@dataclass(frozen=True)
class Limit:
    """At most ``rights`` on ``path`` and beneath it."""

    path: Path
    rights: int


def vsmanager_code() -> list[Path]:
    """Where vsmanager's own code is: the game may read it (the simulator runs it), never
    change it (vsmanager would run what the game wrote at its next start)."""
    package_root = Path(vsmanager.__file__).resolve().parent.parent
    return [package_root, Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()]


def plan_rules(
    server_argv: Sequence[str],
    workdir: Path | None,
    hidden: Iterable[Path],
    *,
    readable: Iterable[Path] = (),
    writable: Iterable[Path] = (),
) -> list[tuple[str, int]]:
    """The Landlock rules for the game: what it needs, minus what it must not touch."""
    limits = [Limit(_real(p), 0) for p in hidden]
    limits += [Limit(p, READ) for p in vsmanager_code()]
    wanted: list[tuple[Path, int]] = [(Path(p), READ) for p in SYSTEM_READ]
    wanted += [(Path(p), READ_WRITE) for p in (*SYSTEM_WRITE, *DEVICES)]
    wanted += [(p, READ) for p in (*vsmanager_code(), *_program_folders(server_argv, workdir))]
    wanted += [(Path(p), READ) for p in readable]
    folders = [workdir, _absolute(data_path(server_argv), workdir), *writable]
    wanted += [(p, READ_WRITE) for p in folders if p is not None]
    rules: dict[str, int] = {}
    visited: set[tuple[Path, int]] = set()
    for path, rights in wanted:
        _allow(path, rights, limits, rules, visited)
    return sorted(rules.items())


def _allow(path: Path, rights: int, limits: list[Limit], rules: dict[str, int],
           visited: set[tuple[Path, int]], *, entry: bool = False) -> None:
    if not os.path.lexists(path):
        return
    if entry and os.path.islink(path):
        # A link in a folder allowed entry by entry grants nothing, as in a folder allowed
        # whole (Landlock judges where a link leads, not the link): following it would let a
        # link the game planted in its own folder widen its rules at the next start.
        return
    real = _real(path)
    if (real, rights) in visited:  # a symbolic link back up the tree
        return
    visited.add((real, rights))
    for limit in limits:
        if limit.path == real or limit.path in real.parents:
            rights &= limit.rights
    if rights == 0:
        return
    if any(real in limit.path.parents and rights & ~limit.rights for limit in limits):
        # Something beneath must get less: allow the entries here one by one instead.
        try:
            entries = sorted(os.listdir(real))
        except OSError:
            return
        for name in entries:
            _allow(real / name, rights, limits, rules, visited, entry=True)
        return
    rules[str(real)] = rules.get(str(real), 0) | rights


def _program_folders(server_argv: Sequence[str], workdir: Path | None) -> list[Path]:
    """The folders of the command's files (the runtime, the server's DLL, a script): the game
    reads its own program."""
    folders = []
    for arg in server_argv:
        candidate = _absolute(Path(arg), workdir) if "/" in arg else None
        if candidate is not None and candidate.is_file():
            folders.append(candidate.resolve().parent)
    return folders


def _absolute(path: Path | None, workdir: Path | None) -> Path | None:
    if path is None or path.is_absolute():
        return path
    return (workdir or Path.cwd()) / path


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


@functools.cache
def kernel_abi() -> int:
    """The kernel's Landlock ABI (0: none), asked once: it does not change while we run."""
    return exec_shim.abi_version()


def game_plan(settings: Settings, abi: int) -> Plan:
    """The plan for the next start of the game: the user (VS_SERVER_USER) and, when
    VS_GAME_CONFINE is on and the kernel has Landlock (``abi`` > 0), the rules."""
    plan = Plan(abi if settings.game_confine else 0, user=user_entry(settings))
    if plan.abi:
        plan.rules = plan_rules(
            settings.server_argv, settings.server_workdir, settings.hidden_paths(),
            readable=split_paths(settings.game_readable_paths),
            writable=split_paths(settings.game_writable_paths))
    return plan


def user_entry(settings: Settings) -> dict[str, object] | None:
    """Who the shim becomes (None: vsmanager's own user); ConfinementError if vsmanager may not."""
    if not settings.server_user:
        return None
    user = game_user(settings.server_user)
    if (user.pw_uid, user.pw_gid) == (os.geteuid(), os.getegid()):
        return None
    # Root without CAP_SETUID (a capability bounding set, a container) cannot either.
    if not (_has_capability(CAP_SETUID) and _has_capability(CAP_SETGID)):
        raise ConfinementError(
            f"VS_SERVER_USER={settings.server_user}: vsmanager (uid {os.geteuid()}) may not change "
            "user: it needs root with CAP_SETUID and CAP_SETGID (it then runs the game as that "
            "user); or unset VS_SERVER_USER")
    return {"name": user.pw_name, "uid": user.pw_uid, "gid": user.pw_gid, "home": user.pw_dir}


def _has_capability(bit: int) -> bool:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> bit & 1)
    except OSError:
        pass
    return False


def confinement_problems(settings: Settings, abi: int) -> list[tuple[str, str]]:
    """What keeps the game from being confined as configured: (event, what to do) pairs, for
    the log at start and for ``vsmanager config check``."""
    problems = []
    if settings.game_confine and abi == 0:
        problems.append(("game_confinement_unavailable",
                         "this kernel has no Landlock (Linux 5.13 or later, with landlock in its "
                         "lsm= list), so the game runs unconfined and, as vsmanager's user, can read "
                         "its key, keys and config files: run the game as another user "
                         "(VS_SERVER_USER, vsmanager as root) or enable Landlock; see docs/security.md"))
    try:
        user_entry(settings)
    except ConfinementError as exc:
        problems.append(("game_user_unavailable", str(exc)))
    return problems


def confinement_summary(settings: Settings, abi: int) -> str:
    """One line for ``config check``: how the game will run."""
    who = f"as {settings.server_user}" if settings.server_user else "as vsmanager's user"
    if not settings.game_confine:
        return f"the game runs {who}, unconfined (VS_GAME_CONFINE=false)"
    hidden = ", ".join(str(p) for p in settings.hidden_paths()) or "none named"
    return f"the game runs {who}, confined by Landlock (ABI {abi}); hidden from it: {hidden}"
