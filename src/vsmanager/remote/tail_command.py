"""The ``vsmanager console`` command: its arguments, and the choice between printing and
the interactive prompt."""

from __future__ import annotations

import argparse
import sys

from vsmanager.remote.api import ApiClient
from vsmanager.remote.endpoint import Endpoint
from vsmanager.remote.exits import ExitCode, fail
from vsmanager.remote.options import add_output_arguments, count_argument, renderer_for
from vsmanager.remote.tail import ALL, Printer, TailOptions, find_start, run_tail


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--tail", type=_tail, default=100, metavar="N|all",
                       help="lines of history to print first (default 100; all: everything "
                       "vsmanager holds)")
    where.add_argument("--after", type=count_argument, metavar="SEQ",
                       help="print the lines after this seq instead (resume)")
    parser.add_argument("--console-id", metavar="ID",
                        help="with --after: the console_id SEQ counts in (from status --json); "
                        "if vsmanager restarted since, say so and show everything it holds")
    parser.add_argument("-f", "--follow", action=argparse.BooleanOptionalAction, default=None,
                        help="keep printing new lines (default: when stdout is a terminal)")
    parser.add_argument("-i", "--interactive", action=argparse.BooleanOptionalAction,
                        default=None,
                        help="a prompt that sends commands below the live console (default: "
                        "when stdin and stdout are terminals)")
    parser.add_argument("--retries", type=count_argument, default=None, metavar="N",
                        help="give up (exit 4) after N failed connections in a row (default: "
                        "3 without --follow, never with it)")
    add_output_arguments(parser)


async def run(args: argparse.Namespace, endpoint: Endpoint) -> int:
    interactive = args.interactive
    if interactive is None:
        interactive = sys.stdin.isatty() and sys.stdout.isatty() and not (args.json or args.raw)
    follow = args.follow if args.follow is not None else (interactive or sys.stdout.isatty())
    if interactive and (args.json or args.raw or not follow):
        return fail(ExitCode.USAGE, "--interactive cannot be combined with --json, --raw or "
                    "--no-follow")
    retries = args.retries if args.retries is not None else (None if follow else 3)
    if args.console_id is not None and args.after is None:
        return fail(ExitCode.USAGE, "--console-id goes with --after")
    options = TailOptions(args.tail, args.after, follow, retries, args.console_id)
    if not interactive:
        if hasattr(sys.stdout, "reconfigure"):
            sys.stdout.reconfigure(errors="backslashreplace")
        return await run_tail(endpoint, options, Printer(renderer_for(args)))

    from vsmanager.remote.interactive import PromptPrinter, run_interactive

    printer = PromptPrinter(renderer_for(args))
    async with ApiClient(endpoint, retries=options.retries,
                         on_retry=lambda exc, delay: printer.on_notice(
                             f"{exc}; retrying in {delay:.1f} s")) as api:
        start = await find_start(api, options, printer.renderer, printer.on_notice)
    return await run_interactive(endpoint, printer, start)


def _tail(value: str) -> int:
    if value == "all":
        return ALL
    return count_argument(value)
