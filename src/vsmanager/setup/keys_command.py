"""``vsmanager keys add|list|remove``: the keys file, edited from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vsmanager.access.audit import AuditLog
from vsmanager.access.keys import KeysFileError, generate_key, new_record, read_keys_file, write_keys_file
from vsmanager.access.roles import Role
from vsmanager.config.settings import SettingsError, load_settings

EXIT_FAILED = 1


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = commands.add_parser(
        "keys", help="add, list and remove named keys in the keys file",
        description="Edit the keys file (VS_KEYS_FILE, or --file): it holds each key's name, "
        "role, creation time and SHA-256, never the key. A running vsmanager re-reads it within "
        "a second (or at once on SIGHUP); a removed key's sockets are closed.",
    )
    keys.add_argument("--file", type=Path, metavar="PATH",
                      help="the keys file (default: VS_KEYS_FILE)")
    verbs = keys.add_subparsers(title="actions", metavar="ACTION", required=True)

    add = verbs.add_parser("add", help="create a key; prints it once",
                           description="Create a key for NAME and print it, once: only its hash "
                           "is stored.")
    add.add_argument("name", metavar="NAME", help="who the key is for, e.g. alice")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--stdin", action="store_true",
                     help="read the key from standard input instead of generating one "
                     "(for a key made elsewhere; it must pass the same strength check)")
    add.set_defaults(handler=run_add)

    list_ = verbs.add_parser("list", help="the keys' names, roles and creation times")
    list_.add_argument("--json", action="store_true", help="as JSON")
    list_.set_defaults(handler=run_list)

    remove = verbs.add_parser("remove", help="remove a key; it stops working at once")
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(handler=run_remove)


def run_add(args: argparse.Namespace) -> int:
    path, audit = _target(args)
    if args.stdin:
        key = sys.stdin.readline().strip()
    else:
        key = generate_key()
    records = read_keys_file(path)
    if any(record.name == args.name for record in records):
        raise KeysFileError(f"{path}: a key named {args.name!r} exists; remove it first")
    record = new_record(args.name, Role(args.role), key)
    write_keys_file(path, [*records, record])
    audit.record("key_added", name=record.name, role=record.role.value, client="cli")
    if not args.stdin:
        print(key)
    print(f"added {record.role.value} key {record.name!r} to {path}"
          + (" (shown once: store it now)" if not args.stdin else ""), file=sys.stderr)
    return 0


def run_list(args: argparse.Namespace) -> int:
    path, _ = _target(args)
    records = read_keys_file(path)
    if args.json:
        print(json.dumps([{"name": r.name, "role": r.role.value, "created": r.created}
                          for r in records], indent=2))
        return 0
    if not records:
        print(f"no keys in {path}", file=sys.stderr)
    for record in records:
        print(f"{record.name:<24} {record.role.value:<8} {record.created}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    path, audit = _target(args)
    records = read_keys_file(path)
    kept = [record for record in records if record.name != args.name]
    if len(kept) == len(records):
        print(f"vsmanager: no key named {args.name!r} in {path}", file=sys.stderr)
        return EXIT_FAILED
    removed = next(record for record in records if record.name == args.name)
    write_keys_file(path, kept)
    audit.record("key_removed", name=removed.name, role=removed.role.value, client="cli")
    print(f"removed key {args.name!r} from {path}", file=sys.stderr)
    return 0


def _target(args: argparse.Namespace) -> tuple[Path, AuditLog]:
    settings = load_settings()
    path: Path | None = args.file or settings.keys_file
    if path is None:
        raise SettingsError("VS_KEYS_FILE: set it (or pass --file), e.g. VS_KEYS_FILE=/etc/vsmanager/keys.json")
    return path, AuditLog(settings.audit_log, structured=False)
