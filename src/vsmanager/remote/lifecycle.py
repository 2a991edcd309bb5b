"""One-shot client commands: ``start|stop|restart`` (waiting for the new state) and ``send``
(a command, then the lines that follow it)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections.abc import Mapping
from typing import Any

from vsmanager.console.commands import InvalidCommand, validate_command
from vsmanager.remote.api import COMMAND_MAX_CHARS, ApiClient, ClientError, Unreachable
from vsmanager.remote.endpoint import Endpoint
from vsmanager.remote.exits import ExitCode, fail
from vsmanager.remote.options import print_json, renderer_for, seconds_argument
from vsmanager.remote.status_view import describe_status
from vsmanager.remote.tail import Printer
from vsmanager.remote.terminal import Spinner
from vsmanager.remote.watcher import ConsoleWatcher

DEFAULT_TIMEOUT_S = 120.0
# What each action waits for, and the words the spinner uses.
TARGET = {"start": "running", "stop": "stopped", "restart": "running"}
DOING = {"start": "starting", "stop": "stopping", "restart": "restarting"}
SETTLED = ("running", "stopped", "crashed")
_POLL_S = 0.5
_SPIN_S = 0.1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-wait", dest="wait", action="store_false",
                        help="return as soon as vsmanager has accepted the request")
    parser.add_argument("--timeout", type=seconds_argument, default=DEFAULT_TIMEOUT_S,
                        metavar="S", help="give up waiting after S seconds (exit 6; "
                        f"default {DEFAULT_TIMEOUT_S:g}: saving a large world takes time)")
    parser.add_argument("--json", action="store_true", help="print the final status as JSON")


async def run_action(args: argparse.Namespace, endpoint: Endpoint) -> int:
    action: str = args.action
    async with ApiClient(endpoint) as api:
        if not args.wait:
            status = await api.lifecycle(action)
        else:
            status = await _wait_with_spinner(api, action, args.timeout)
    if args.json:
        print_json(status)
    else:
        print(describe_status(status))
    state = status.get("state")
    if not args.wait or state == TARGET[action]:
        return ExitCode.OK
    if state in SETTLED:
        return fail(ExitCode.FAILED, f"the server is {state}, not {TARGET[action]}")
    return fail(ExitCode.TIMEOUT, f"the server is still {state} after {args.timeout:g} s")


async def _wait_with_spinner(api: ApiClient, action: str, limit_s: float) -> dict[str, Any]:
    """The request waits on the server side; meanwhile a spinner shows the live state."""
    started = time.monotonic()
    request = asyncio.create_task(api.lifecycle(action, wait=limit_s))
    spinner = asyncio.create_task(_spin(api, action, started)) if sys.stderr.isatty() else None
    try:
        status = await request
        if status.get("state") in SETTLED:
            return status
        # The server holds a request at most MAX_SERVER_WAIT_S; wait the rest by polling.
        # A restart passes through "stopped" on its way, so only running or crashed end it.
        final = ("running", "crashed") if action == "restart" else SETTLED
        while status.get("state") not in final and time.monotonic() - started < limit_s:
            await asyncio.sleep(_POLL_S)
            status = await api.status()
        return status
    finally:
        if spinner is not None:
            spinner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await spinner
            sys.stderr.write(Spinner.clear())
            sys.stderr.flush()


async def _spin(api: ApiClient, action: str, started: float) -> None:
    spinner = Spinner()
    state = "…"
    next_poll = 0.0
    while True:
        now = time.monotonic()
        if now >= next_poll:
            next_poll = now + _POLL_S
            with contextlib.suppress(ClientError):
                state = str((await api.status()).get("state"))
        sys.stderr.write(spinner.frame(f"{DOING[action]} the server ({state}, "
                                       f"{now - started:.0f} s)"))
        sys.stderr.flush()
        await asyncio.sleep(_SPIN_S)


async def run_send(args: argparse.Namespace, endpoint: Endpoint) -> int:
    try:
        command = validate_command(args.command, COMMAND_MAX_CHARS)
    except InvalidCommand as exc:
        return fail(ExitCode.USAGE, f"not sent: {exc}")
    async with ApiClient(endpoint) as api:
        seq = await api.command(command)
    if args.wait <= 0:
        return ExitCode.OK
    printer = Printer(renderer_for(args))
    # The echo of the command is line `seq`; its answer follows it.
    watcher = ConsoleWatcher(endpoint, _AnswerListener(printer), after=seq, retries=3)
    try:
        async with asyncio.timeout(args.wait):
            await watcher.run()
    except TimeoutError:
        pass
    except Unreachable as exc:
        return fail(ExitCode.UNREACHABLE, f"the command was sent (seq {seq}), but its answer "
                    f"could not be read: {exc.message}")
    return ExitCode.OK


class _AnswerListener:
    """Forwards lines and gaps, keeps connection chatter out of a one-shot command."""

    def __init__(self, printer: Printer) -> None:
        self.printer = printer

    def on_connected(self, url: str, after: int | None) -> None:
        pass

    def on_lines(self, lines: list[Any]) -> None:
        self.printer.on_lines(lines)

    def on_gap(self, gap: Any) -> None:
        self.printer.on_gap(gap)

    def on_status(self, status: Mapping[str, Any]) -> None:
        pass

    def on_error(self, code: str, message: str) -> None:
        self.printer.on_error(code, message)

    def on_notice(self, message: str) -> None:
        if "reconnecting" in message:
            self.printer.on_notice(message)
