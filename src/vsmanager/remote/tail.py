"""``vsmanager console`` without a prompt: print history, then follow, to stdout."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from vsmanager.console.buffer import Gap
from vsmanager.remote.api import HISTORY_PAGE_LINES, ApiClient
from vsmanager.remote.endpoint import Endpoint
from vsmanager.remote.status_view import describe_status
from vsmanager.remote.terminal import LineRenderer, notice
from vsmanager.remote.watcher import ConsoleWatcher, Line, Resume

ALL = -1  # --tail all


@dataclass(frozen=True)
class TailOptions:
    tail: int  # lines of history, or ALL
    after: int | None
    follow: bool
    retries: int | None  # failures in a row before giving up; None: never
    console_id: str | None = None  # the numbering --after counts in, when the user knows it


@dataclass(frozen=True)
class Start:
    """Where printing begins: after this seq, in this numbering; the newest seq then."""

    after: int
    newest: int
    console_id: str | None


class Printer:
    """Console lines to stdout, everything else (connected, reconnecting, gaps) to stderr."""

    def __init__(self, renderer: LineRenderer, out: TextIO | None = None,
                 err: TextIO | None = None) -> None:
        self.renderer = renderer
        self._out = out
        self._err = err
        self.lines_printed = 0
        self._state: object = None

    # Looked up on each write: in interactive mode prompt_toolkit swaps sys.stdout for a
    # proxy that prints above the prompt.
    @property
    def out(self) -> TextIO:
        return self._out or sys.stdout

    @property
    def err(self) -> TextIO:
        return self._err or sys.stderr

    def on_connected(self, url: str, after: int | None) -> None:
        self._state = None  # say the state again: it may have changed while away
        where = "afresh" if after is None else f"lines after seq {after}"
        self.on_notice(f"connected to {url} ({where})")

    def on_lines(self, lines: list[Line]) -> None:
        rendered = self.renderer.render_all(lines)
        if rendered:
            self.out.write("\n".join(rendered) + "\n")
            self.out.flush()
            self.lines_printed += len(rendered)

    def on_gap(self, gap: Gap) -> None:
        self.on_notice(f"gap of {gap.count} lines (seq {gap.from_seq}-{gap.to_seq} are no "
                       "longer held by vsmanager)")

    def on_status(self, status: Mapping[str, Any]) -> None:
        # Said again only when it reads differently: uptime alone changes every frame.
        said = describe_status(status, with_uptime=False)
        if said == self._state:
            return
        first = self._state is None
        self._state = said
        # After the state on connecting, each change is told by vsmanager's own console line
        # ("server exited with code 0", "server started (pid 7, run 2)"): said there, once.
        if first or not self.renderer.wants({"stream": "system"}):
            self.on_notice(said)

    def on_error(self, code: str, message: str) -> None:
        self.on_notice(f"error {code}: {message}")

    def on_notice(self, message: str) -> None:
        self.err.write(notice(message, colour=_is_terminal(self.err)) + "\n")
        self.err.flush()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False


def start_after(options: TailOptions, first_seq: int, last_seq: int) -> int:
    """The seq after which to print: from --after, or the newest --tail lines."""
    if options.after is not None:
        return options.after
    oldest = first_seq - 1
    if options.tail == ALL:
        return oldest
    return max(oldest, last_seq - options.tail)


async def find_start(api: ApiClient, options: TailOptions, renderer: LineRenderer,
                     notify: Callable[[str], None]) -> Start:
    """The seq to print after, the newest seq now, and the numbering they count in."""
    if options.tail in (0, ALL) or options.after is not None or renderer.shows_all:
        held = await api.history(lines=0)
        console_id = _console_id(held)
        if console_id is None and options.console_id is not None:
            console_id = _console_id(await api.status())  # history without console_id
        first, last = int(held["first_seq"]), int(held["last_seq"])
        if options.after is not None and _other_numbering(options.console_id, console_id):
            notify(f"console {options.console_id} is not this vsmanager's (it restarted "
                   f"since, now {console_id}): seq {options.after} means nothing here; "
                   "showing everything it holds")
            return Start(first - 1, last, console_id)
        return Start(start_after(options, first, last), last, console_id)
    # With --streams, --tail counts the lines shown: look back through the newest page.
    page = await api.history(lines=HISTORY_PAGE_LINES)
    shown = [int(line["seq"]) for line in page["lines"] if renderer.wants(line)]
    oldest = int(page["lines"][0]["seq"]) - 1 if page["lines"] else int(page["last_seq"])
    if len(shown) >= options.tail:
        oldest = shown[-options.tail] - 1
    return Start(oldest, int(page["last_seq"]), _console_id(page))


def _console_id(answer: Mapping[str, Any]) -> str | None:
    value = answer.get("console_id")  # absent from a vsmanager older than console IDs
    return value if isinstance(value, str) else None


def _other_numbering(expected: str | None, actual: str | None) -> bool:
    return expected is not None and actual is not None and expected != actual


async def run_tail(endpoint: Endpoint, options: TailOptions, printer: Printer) -> int:
    def retrying(exc: Exception, delay: float) -> None:
        printer.on_notice(f"{exc}; retrying in {delay:.1f} s")

    async with ApiClient(endpoint, retries=options.retries, on_retry=retrying) as api:
        # One HTTP request first: it checks the key, and pins the starting seq and its
        # numbering, so that even --tail 0 then resumes exactly after a reconnect.
        start = await find_start(api, options, printer.renderer, printer.on_notice)
        if not options.follow:
            await print_history(api, start, printer)
            return 0
    watcher = ConsoleWatcher(endpoint, printer, after=start.after, console_id=start.console_id,
                             retries=options.retries)
    await watcher.run()
    return 0


async def print_history(api: ApiClient, start: Start, printer: Printer) -> None:
    """Page through the lines after ``start.after`` up to ``start.newest`` (the newest when
    we began), all in one numbering."""
    cursor, until = start.after, start.newest
    resume = Resume(cursor)
    if cursor > until:
        printer.on_notice(f"seq {cursor} is newer than the newest line ({until}): vsmanager "
                          "restarted since; showing everything it holds")
        cursor, resume = 0, Resume(None)
    while cursor < until:
        page = await api.history(after=cursor, limit=HISTORY_PAGE_LINES)
        if _other_numbering(start.console_id, _console_id(page)):
            printer.on_notice("vsmanager restarted while its history was being read; "
                              "stopped there (its console is numbered anew)")
            return
        wanted = [line for line in page["lines"] if int(line["seq"]) <= until]
        lines, gap = resume.accept(wanted)
        if gap is not None:
            printer.on_gap(gap)
        printer.on_lines(lines)
        if len(wanted) < len(page["lines"]) or not page["lines"]:
            break
        cursor = int(wanted[-1]["seq"])
