"""Client commands that talk to a running vsmanager: console, status, start, stop, restart,
send. The argparse wiring, and the one place where failures become exit codes."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from enum import IntEnum
from typing import Any

from vsmanager.remote.api import AuthRefused, ClientError, Refused, Unreachable
from vsmanager.remote.endpoint import DEFAULT_URL, Endpoint, EndpointError, resolve_endpoint
from vsmanager.remote.terminal import STREAMS, LineRenderer, parse_streams


class ExitCode(IntEnum):
    """Documented in docs/terminal.md; scripts depend on these numbers."""

    OK = 0
    FAILED = 1  # vsmanager answered with an error, or the game server crashed
    USAGE = 2  # bad arguments, no key, bad URL
    AUTH = 3  # key refused (401/403, close 4001/4003)
    UNREACHABLE = 4  # no answer after the retries
    REFUSED = 5  # not possible in the server's present state (409/503)
    TIMEOUT = 6  # the server did not reach the state in time
    INTERRUPTED = 130  # Ctrl+C while following or waiting


EPILOG = ("exit codes: 0 done, 1 failed, 2 usage, 3 key refused, 4 unreachable, "
          "5 refused in the server's present state, 6 timed out, 130 interrupted "
          "(docs/terminal.md)")

Handler = Callable[[argparse.Namespace, Endpoint], Coroutine[Any, Any, int]]


def add_commands(commands: argparse._SubParsersAction[Any]) -> None:
    # Imported here: the command modules use this module's ExitCode and output options.
    from vsmanager.remote import lifecycle, tail_command

    console = commands.add_parser(
        "console", help="stream the console of a running vsmanager (and send commands)",
        description="Print the console of a running vsmanager: its history, then live lines "
        "when following. Interactive (a prompt for commands) when stdin and stdout are "
        "terminals. Notices go to stderr; console lines alone go to stdout.",
        epilog=EPILOG,
    )
    _add_connection_arguments(console)
    tail_command.add_arguments(console)
    console.set_defaults(handler=_handler(tail_command.run))

    status = commands.add_parser(
        "status", help="show the game server's state",
        description="Show the game server's state (the admin or the monitor key).",
        epilog=EPILOG,
    )
    _add_connection_arguments(status)
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(handler=_handler(lifecycle.run_status))

    for action in ("start", "stop", "restart"):
        parser = commands.add_parser(
            action, help=f"{action} the game server and wait for it",
            description=f"Ask vsmanager to {action} the game server and wait until it is "
            f"{'stopped' if action == 'stop' else 'running'} (a spinner on a terminal).",
            epilog=EPILOG,
        )
        _add_connection_arguments(parser)
        lifecycle.add_arguments(parser)
        parser.set_defaults(handler=_handler(lifecycle.run_action), action=action)

    send = commands.add_parser(
        "send", help="send one console command and print the lines that follow",
        description="Send one command to the game server's console, then print the console "
        "lines that follow it for --wait seconds.",
        epilog=EPILOG,
    )
    _add_connection_arguments(send)
    send.add_argument("command", help='the command, e.g. "/announce hello" (quote it)')
    send.add_argument("--wait", type=seconds_argument, default=2.0, metavar="S",
                      help="print the lines that follow for S seconds (default 2; 0: none)")
    add_output_arguments(send)
    send.set_defaults(handler=_handler(lifecycle.run_send))


def _add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection")
    group.add_argument("--url", metavar="URL",
                       help=f"vsmanager's URL (default $VS_URL, else {DEFAULT_URL})")
    group.add_argument("--api-key-file", metavar="FILE",
                       help="read the key from FILE (default $VS_API_KEY_FILE, else "
                       "~/.config/vsmanager/api-key if present)")
    group.add_argument("--api-key", metavar="KEY",
                       help="the key itself; prefer $VS_API_KEY or a key file: arguments "
                       "show in ps")


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("output")
    group.add_argument("--timestamps", action="store_true",
                       help="prefix each line with the time vsmanager received it (UTC)")
    group.add_argument("--streams", type=_streams, default=frozenset(STREAMS),
                       metavar="LIST",
                       help=f"only these streams, comma-separated (default {','.join(STREAMS)})")
    style = group.add_mutually_exclusive_group()
    style.add_argument("--json", action="store_true",
                       help="one JSON object per line: seq, ts, stream, text (for jq)")
    style.add_argument("--raw", action="store_true",
                       help="print the text exactly as received, control characters "
                       "included (unsafe on a terminal)")


def renderer_for(args: argparse.Namespace) -> LineRenderer:
    return LineRenderer(
        format="json" if args.json else "text",
        timestamps=args.timestamps,
        raw=args.raw,
        colour=not args.json and not args.raw and sys.stdout.isatty(),
        streams=args.streams,
    )


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


def fail(code: ExitCode, message: str) -> int:
    print(f"vsmanager: {message}", file=sys.stderr)
    return int(code)


def quiet_broken_pipe() -> int:
    """The reader went away (``| head``): stop without a traceback when Python flushes."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return int(ExitCode.OK)


def print_json(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=None))


def seconds_argument(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not 0 <= seconds <= 24 * 3600:
        raise argparse.ArgumentTypeError("seconds must be between 0 and 86400")
    return seconds


def _streams(value: str) -> frozenset[str]:
    try:
        return parse_streams(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None

