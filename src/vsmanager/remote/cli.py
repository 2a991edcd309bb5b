"""Client commands that talk to a running vsmanager: console, status, start, stop, restart,
send. The argparse wiring, and the one place where failures become exit codes.

Imports run one way: this module imports the command modules; what they share lives in
``exits`` and ``options``, which import none of them.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from vsmanager.remote import backup_command, lifecycle, schedule_command, status_command, tail_command
from vsmanager.remote.api import AuthRefused, ClientError, Refused, Unreachable
from vsmanager.remote.endpoint import Endpoint, EndpointError, resolve_endpoint
from vsmanager.remote.exits import EPILOG, ExitCode, fail, quiet_broken_pipe
from vsmanager.remote.options import (
    add_connection_arguments,
    add_output_arguments,
    seconds_argument,
)

Handler = Callable[[argparse.Namespace, Endpoint], Coroutine[Any, Any, int]]


def add_commands(commands: argparse._SubParsersAction[Any]) -> None:
    console = _command(
        commands, "console", tail_command.run,
        help="stream the console of a running vsmanager (and send commands)",
        description="Print the console of a running vsmanager: its history, then live lines "
        "when following. Interactive (a prompt for commands) when stdin and stdout are "
        "terminals. Notices go to stderr; console lines alone go to stdout.",
    )
    add_connection_arguments(console)
    tail_command.add_arguments(console)

    status = _command(
        commands, "status", status_command.run_status,
        help="show the game server's state, players, version and resources",
        description="Show the game server's state, uptime, runs and restarts, version, "
        "players and the newest resource sample (the admin or the monitor key).",
    )
    add_connection_arguments(status)
    status_command.add_arguments(status)

    for action in ("start", "stop", "restart"):
        parser = _command(
            commands, action, lifecycle.run_action, action=action,
            help=f"{action} the game server and wait for it",
            description=f"Ask vsmanager to {action} the game server and wait until it is "
            f"{'stopped' if action == 'stop' else 'running'} (a spinner on a terminal).",
        )
        add_connection_arguments(parser)
        lifecycle.add_arguments(parser)

    send = _command(
        commands, "send", lifecycle.run_send,
        help="send one console command and print the lines that follow",
        description="Send one command to the game server's console, then print the console "
        "lines that follow it for --wait seconds.",
    )
    add_connection_arguments(send)
    send.add_argument("command", help='the command, e.g. "/announce hello" (quote it)')
    send.add_argument("--wait", type=seconds_argument, default=2.0, metavar="S",
                      help="print the lines that follow for S seconds (default 2; 0: none)")
    add_output_arguments(send)

    backup = _command(
        commands, "backup", backup_command.run,
        help="make, list, verify, download, delete or restore backups",
        description="Backups of the world (docs/backups.md): the admin key for all but list.",
    )
    add_connection_arguments(backup)
    backup_command.add_arguments(backup)

    schedule_command.add_schedule_arguments(_command(
        commands, "schedule", schedule_command.run_schedule,
        help="list, show, add, remove, pause, resume, run or skip schedules",
        description="The schedules of a running vsmanager (docs/automation.md). Changes need "
        "the admin key; list and show also take the monitor key.",
    ))
    schedule_command.add_notify_arguments(_command(
        commands, "notify", schedule_command.run_notify,
        help="list notification targets or send one a test message",
        description="The notification targets of a running vsmanager, masked, with their last "
        "delivery (docs/automation.md).",
    ))


def _command(commands: argparse._SubParsersAction[Any], name: str, run: Handler, *, help: str,
             description: str, **defaults: object) -> argparse.ArgumentParser:
    """One client command: its parser (with the exit codes as its epilog), run through
    _handler, which turns failures into those codes."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=help, description=description, epilog=EPILOG)
    parser.set_defaults(handler=_handler(run), **defaults)
    return parser


def _handler(run: Handler) -> Callable[[argparse.Namespace], int]:
    def handle(args: argparse.Namespace) -> int:
        try:
            endpoint = resolve_endpoint(args.url, args.api_key, args.api_key_file)
        except EndpointError as exc:
            return fail(ExitCode.USAGE, str(exc))
        if endpoint.warning:
            print(f"vsmanager: warning: {endpoint.warning}", file=sys.stderr)
        try:
            return asyncio.run(run(args, endpoint))
        except AuthRefused as exc:
            return fail(ExitCode.AUTH, exc.message)
        except Unreachable as exc:
            return fail(ExitCode.UNREACHABLE, exc.message)
        except Refused as exc:
            return fail(ExitCode.REFUSED, f"{exc.message} ({exc.code})")
        except ClientError as exc:
            return fail(ExitCode.FAILED, exc.message)
        except BrokenPipeError:
            return quiet_broken_pipe()

    return handle
