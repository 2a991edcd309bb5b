"""The ``vsmanager console`` command: its arguments, and the choice between printing and
the interactive prompt."""

from __future__ import annotations

import argparse
import sys

from vsmanager.remote.api import ApiClient
from vsmanager.remote.endpoint import Endpoint
from vsmanager.remote.exits import ExitCode, fail
from vsmanager.remote.options import add_output_arguments, count_argument, renderer_for
from vsmanager.remote.previous import NoSuchRun, run_previous
from vsmanager.remote.tail import ALL, Printer, TailOptions, find_start, run_tail

DEFAULT_TAIL = 100


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--tail", type=_tail, default=None, metavar="N|all",
                       help="print the newest N lines of history and end, unless --follow "
                       "(default without it: 100, then follow on a terminal; all: everything "
                       "vsmanager holds; with --previous: all of that run)")
    where.add_argument("--after", type=count_argument, metavar="SEQ",
                       help="print the lines after this seq instead (resume) and end, unless "
                     "--follow")
    parser.add_argument("--console-id", metavar="ID",
                        help="with --after: the console_id SEQ counts in (from status --json); "
                        "if vsmanager restarted since, say so and show everything it holds")
    run = parser.add_mutually_exclusive_group()
    run.add_argument("-p", "--previous", action="store_true",
                     help="print the lines of the previous run of the game (the one before "
                     "the latest: after a crash, the crashed one; after a restart, the stopped "
                     "one), then end")
    run.add_argument("--run", type=count_argument, metavar="N",
                     help="print the lines of run N (see status), then end")
    parser.add_argument("-f", "--follow", action=argparse.BooleanOptionalAction, default=None,
                        help="keep printing new lines (default: when stdout is a terminal and "
                        "neither --tail nor --after is given)")
    parser.add_argument("-i", "--interactive", action=argparse.BooleanOptionalAction,
                        default=None,
                        help="a prompt that sends commands below the live console (default: "
                        "when stdin and stdout are terminals)")
    parser.add_argument("--retries", type=count_argument, default=None, metavar="N",
                        help="give up (exit 4) after N failed connections in a row (default: "
                        "3 without --follow, never with it)")
    add_output_arguments(parser)


async def run(args: argparse.Namespace, endpoint: Endpoint) -> int:
    if args.previous or args.run is not None:
        return await _run_one(args, endpoint)
    # Like `docker logs`: asked for history (--tail N, --after SEQ), it prints that and ends
    # unless --follow; asked for nothing, on a terminal it is the live console.
    follow = args.follow
    if follow is None:
        asked_for_history = args.tail is not None or args.after is not None
        follow = args.interactive is True or (sys.stdout.isatty() and not asked_for_history)
    interactive = args.interactive
    if interactive is None:
        interactive = (follow and sys.stdin.isatty() and sys.stdout.isatty()
                       and not (args.json or args.raw))
    if interactive and (args.json or args.raw or not follow):
        return fail(ExitCode.USAGE, "--interactive cannot be combined with --json, --raw or "
                    "--no-follow")
    retries = args.retries if args.retries is not None else (None if follow else 3)
    if args.console_id is not None and args.after is None:
        return fail(ExitCode.USAGE, "--console-id goes with --after")
    tail = DEFAULT_TAIL if args.tail is None else args.tail
    options = TailOptions(tail, args.after, follow, retries, args.console_id)
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


async def _run_one(args: argparse.Namespace, endpoint: Endpoint) -> int:
    """--previous or --run N: a run that has ended (or its lines so far) is read, not followed."""
    which = "--previous" if args.previous else "--run"
    if args.follow or args.interactive or args.after is not None:
        return fail(ExitCode.USAGE, f"{which} prints lines and ends: it cannot be combined "
                    "with --follow, --interactive or --after")
    tail = ALL if args.tail is None else args.tail
    retries = 3 if args.retries is None else args.retries
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        return await run_previous(endpoint, args.run, tail, retries,
                                  Printer(renderer_for(args)))
    except NoSuchRun as exc:
        return fail(ExitCode.FAILED, exc.message)


def _tail(value: str) -> int:
    if value == "all":
        return ALL
    return count_argument(value)
