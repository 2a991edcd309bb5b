"""``vsmanager status``: the facts at a glance, once or (``--watch``) refreshed in place."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import time
from datetime import UTC, datetime
from typing import Any

from prompt_toolkit.utils import get_cwidth

from vsmanager.remote.api import ApiClient, Unreachable
from vsmanager.remote.endpoint import Endpoint
from vsmanager.remote.exits import ExitCode
from vsmanager.remote.options import count_argument, print_json
from vsmanager.remote.status_view import latest_sample, status_table
from vsmanager.remote.terminal import notice

DEFAULT_WATCH_S = 2.0
# A refresh faster than this only loads vsmanager; slower than an hour is not watching.
MIN_WATCH_S, MAX_WATCH_S = 0.5, 3600.0
# Each refresh's requests end within this, so a watch never hangs on a dead connection.
REQUEST_TIMEOUT_S = 5.0

_CLEAR_LINE_END = "\x1b[K"
_CLEAR_TO_END = "\x1b[J"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true",
                        help="print the status object as vsmanager sends it (with --watch: "
                        "one object per line per refresh)")
    parser.add_argument("-w", "--watch", type=_watch_seconds, nargs="?", const=DEFAULT_WATCH_S,
                        default=None, metavar="SECONDS",
                        help=f"refresh every SECONDS (default {DEFAULT_WATCH_S:g}; "
                        f"{MIN_WATCH_S:g} to {MAX_WATCH_S:g}), in place on a terminal, until "
                        "Ctrl+C")
    parser.add_argument("--count", type=count_argument, default=None, metavar="N",
                        help="with --watch: stop after N refreshes")


async def run_status(args: argparse.Namespace, endpoint: Endpoint) -> int:
    if args.watch is None:
        async with ApiClient(endpoint) as api:
            status, metrics = await _fetch(api, None, with_metrics=not args.json)
        if args.json:
            print_json(status)
        else:
            print(status_table(status, endpoint.url, sample=latest_sample(metrics)))
        return ExitCode.OK
    return await _watch(args, endpoint)


async def _fetch(api: ApiClient, since: float | None, *,
                 with_metrics: bool) -> tuple[dict[str, Any], dict[str, Any] | None]:
    if not with_metrics:
        return await api.status(), None
    status, metrics = await asyncio.gather(api.status(), api.metrics(since))
    return status, metrics


async def _watch(args: argparse.Namespace, endpoint: Endpoint) -> int:
    interval: float = args.watch
    in_place = sys.stdout.isatty() and not args.json
    since: float | None = None
    sample: dict[str, Any] | None = None
    refreshes = 0
    drawn = 0  # lines of the block on screen, to move back over
    reached = True
    # The watch loop is the retry: one attempt per refresh, each bounded.
    async with ApiClient(endpoint, retries=0, timeout=REQUEST_TIMEOUT_S) as api:
        while args.count is None or refreshes < args.count:
            began = time.monotonic()
            try:
                status, metrics = await _fetch(api, since, with_metrics=not args.json)
                newest = latest_sample(metrics)
                if newest is not None:
                    sample, since = dict(newest), float(newest.get("t", 0)) or since
                body = "" if args.json else status_table(status, endpoint.url, sample=sample)
                reached = True
            except Unreachable as exc:
                status, body = {}, notice(f"{exc.message}; trying again in {interval:g} s")
                reached = False
            refreshes += 1
            if args.json:
                if status:
                    print_json(status)
                else:
                    print(body, file=sys.stderr)
            elif in_place:
                drawn = _redraw(body, interval, drawn)
            else:
                print(body + "\n", flush=True)
            sys.stdout.flush()
            if args.count is not None and refreshes >= args.count:
                break
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - began)))
    # With --count, the outcome of the last refresh decides, as for a single status.
    return ExitCode.OK if reached else ExitCode.UNREACHABLE


def _redraw(body: str, interval: float, drawn: int) -> int:
    """Draw the block over the one drawn before (``drawn`` lines up); the last one stays on
    screen when the watch ends. Lines are cut to the terminal's width so that none wraps
    (a wrapped line would throw the count off); a block that shrinks leaves nothing behind."""
    width = shutil.get_terminal_size().columns
    stamp = datetime.now(UTC).strftime("%H:%M:%SZ")
    lines = [f"every {interval:g} s, Ctrl+C leaves · {stamp}", *body.splitlines()]
    up = f"\x1b[{drawn}F" if drawn else ""
    sys.stdout.write(up + "".join(fit(line, width) + _CLEAR_LINE_END + "\n" for line in lines)
                     + _CLEAR_TO_END)
    return len(lines)


def fit(line: str, width: int) -> str:
    """Cut a line to ``width`` terminal columns (wide characters count two); the rows hold no
    escape sequences (status_view escapes them)."""
    if get_cwidth(line) <= width:
        return line
    used, cut = 0, []
    for char in line:
        used += get_cwidth(char)
        if used > width - 1:
            break
        cut.append(char)
    return "".join(cut) + "…"


def _watch_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not MIN_WATCH_S <= seconds <= MAX_WATCH_S:
        raise argparse.ArgumentTypeError(
            f"--watch takes {MIN_WATCH_S:g} to {MAX_WATCH_S:g} seconds, not {value}")
    return seconds
