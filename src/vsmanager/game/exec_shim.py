"""The few lines between vsmanager's fork and the game's exec, run as a script by the Python
vsmanager runs on (``python -I -S exec_shim.py PLAN -- ARGV...``), so standard library only.

In order: close every fd above 2 (uvloop's spawn leaves the child copies of its own pipe
ends, and preexec_fn runs before its dup2), take on the game's user if the plan names one,
confine the process with Landlock if the plan says so, then exec the game in the same
process. A step that fails ends the child with 126 and a line on stderr (the console): the
game never runs less confined than planned. The plan is JSON, written by
:mod:`vsmanager.game.confinement`; docs/security.md says why each step is there.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import stat
import sys
from typing import Any

# Landlock's system calls (the same numbers on every architecture) and constants, from
# include/uapi/linux/landlock.h.
SYS_CREATE_RULESET = 444
SYS_ADD_RULE = 445
SYS_RESTRICT_SELF = 446
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38
PR_SET_PDEATHSIG = 1

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15  # ABI 2, 3 and 5
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6
# Rights that make sense on a file (the kernel refuses the others on a non-directory).
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
EXIT_CANNOT_CONFINE = 126


def handled_access(abi: int) -> int:
    """Every file-system right this kernel's Landlock knows: all of them are denied unless
    a rule allows them."""
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)


def abi_version() -> int:
    """The kernel's Landlock ABI version; 0 where it has none (too old, or not enabled)."""
    if not sys.platform.startswith("linux"):
        return 0
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    version = libc.syscall(ctypes.c_long(SYS_CREATE_RULESET), None, ctypes.c_size_t(0),
                           ctypes.c_uint32(CREATE_RULESET_VERSION))
    return max(int(version), 0)


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def ruleset(rules: list[tuple[str, int]], abi: int) -> int:
    """A Landlock ruleset allowing ``rules``, (path, rights) pairs; a path that no longer
    exists is skipped. Made before changing user: the rules name paths the game's user may
    not even be able to look up. Raises OSError naming the step."""
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    handled = handled_access(abi)
    attr = _RulesetAttr(handled, 0, SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0)
    # The structure grew with the ABI; the kernel wants the size it knows.
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    fd = int(libc.syscall(ctypes.c_long(SYS_CREATE_RULESET), ctypes.byref(attr),
                          ctypes.c_size_t(size), ctypes.c_uint32(0)))
    if fd < 0:
        _raise("landlock_create_ruleset")
    try:
        for path, allowed in rules:
            _add_rule(libc, fd, path, allowed & handled)
    except BaseException:
        os.close(fd)
        raise
    return fd


def restrict(ruleset_fd: int) -> None:
    """Confine this process, and whatever it execs, to the ruleset; no way back."""
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    try:
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            _raise("prctl(PR_SET_NO_NEW_PRIVS)")
        if libc.syscall(ctypes.c_long(SYS_RESTRICT_SELF), ctypes.c_int(ruleset_fd), ctypes.c_uint32(0)) != 0:
            _raise("landlock_restrict_self")
    finally:
        os.close(ruleset_fd)


def _add_rule(libc: Any, ruleset: int, path: str, allowed: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            allowed &= FILE_RIGHTS
        attr = _PathBeneathAttr(allowed, fd)
        if libc.syscall(ctypes.c_long(SYS_ADD_RULE), ctypes.c_int(ruleset),
                        ctypes.c_int(RULE_PATH_BENEATH), ctypes.byref(attr), ctypes.c_uint32(0)) != 0:
            _raise(f"landlock_add_rule({path})")
    finally:
        os.close(fd)


def _raise(step: str) -> None:
    errno = ctypes.get_errno()
    raise OSError(errno, f"{step}: {os.strerror(errno)}")


def become(user: dict[str, Any]) -> None:
    """Take on the game's user: its groups, group and user id, in that order (after setuid
    there is no right left to change groups)."""
    os.initgroups(user["name"], user["gid"])
    os.setgid(user["gid"])
    os.setuid(user["uid"])
    # A change of credentials clears the parent-death signal vsmanager asked for.
    _libc().prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def main(argv: list[str]) -> None:
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    plan = json.loads(argv[1])
    game = argv[3:]  # argv[2] is "--"
    try:
        rules = None
        if plan.get("abi"):
            rules = ruleset([(path, int(rights)) for path, rights in plan["rules"]], int(plan["abi"]))
        if plan.get("user"):
            become(plan["user"])
        if rules is not None:
            restrict(rules)
    except OSError as exc:
        print(f"vsmanager: cannot confine the game, so it was not started: {exc}", file=sys.stderr)
        os._exit(EXIT_CANNOT_CONFINE)
    try:
        os.execvp(game[0], game)
    except OSError as exc:
        print(f"vsmanager: cannot run {game[0]!r}: {exc.strerror}", file=sys.stderr)
        os._exit(127)


if __name__ == "__main__":
    main(sys.argv)
