"""Command-line options that several client commands share: where to connect, how to print
console lines, and the argument types. Imports no command module."""

from __future__ import annotations

import argparse
import json
import sys

from vsmanager.remote.endpoint import DEFAULT_URL
from vsmanager.remote.terminal import STREAMS, LineRenderer, parse_streams


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
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
    group.add_argument("--streams", type=streams_argument, default=frozenset(STREAMS),
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


def count_argument(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > 12:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, not {value!r}")
    return int(value)


def streams_argument(value: str) -> frozenset[str]:
    try:
        return parse_streams(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
