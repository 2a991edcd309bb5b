"""``vsmanager console --previous`` (and ``--run N``): the lines of one run of the game, as
``kubectl logs --previous`` shows the container before the current one.

A run is one start of the game; vsmanager numbers them from 1 for its own life and keeps
their lines while its buffer holds them (``GET /console/runs``, ``history?run=N``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from vsmanager.remote.api import HISTORY_PAGE_LINES, ApiClient, ClientError
from vsmanager.remote.endpoint import Endpoint
from vsmanager.remote.tail import ALL, Printer
from vsmanager.remote.watcher import Line, Resume

Run = Mapping[str, Any]


class NoSuchRun(ClientError):
    """The run asked for does not exist, or its lines are no longer held."""


def pick_run(runs: Sequence[Run], *, number: int | None) -> Run:
    """Run ``number``, or (None) the one before the latest: the previous run."""
    if not runs:
        raise NoSuchRun("no run yet: the game has not been started since vsmanager started",
                        "no_run")
    latest = max(int(run["run"]) for run in runs)
    wanted = latest - 1 if number is None else number
    for run in runs:
        if int(run["run"]) == wanted:
            return run
    if number is None and wanted < 1:
        raise NoSuchRun(f"no previous run: run {latest} is the first since vsmanager started",
                        "no_run")
    if wanted > latest or wanted < 1:
        raise NoSuchRun(f"no run {wanted}: the runs so far are 1 to {latest}", "no_run")
    held = ", ".join(str(run["run"]) for run in runs)
    raise NoSuchRun(f"the lines of run {wanted} are no longer held (vsmanager holds runs "
                    f"{held})", "run_not_held")


def describe_run(run: Run) -> str:
    """``run 3, 2026-12-01T22:00:00Z to 22:05:10Z, crashed with code 1 (seq 120-340)``."""
    started, ended = str(run.get("started_at") or "?"), run.get("ended_at")
    span = f"from {started}, still running" if ended is None else (
        f"{started} to {_same_day(started, str(ended))}")
    outcome, code = run.get("outcome"), run.get("exit_code")
    how = ""
    if outcome is not None:
        how = f", {outcome}" + (f" with code {code}" if code is not None else "")
    return (f"run {run.get('run')}, {span}{how} (seq {run.get('first_seq')}-"
            f"{run.get('last_seq')})")


def _same_day(start: str, end: str) -> str:
    """The end time alone when it falls on the start's day (ISO 8601 UTC)."""
    if start[:10] == end[:10] and "T" in end:
        return end.split("T", 1)[1]
    return end


async def print_run(api: ApiClient, run: Run, tail: int, printer: Printer) -> None:
    """Print the run's lines (its newest ``tail`` shown, or ALL), paging over HTTP."""
    number, first, last = int(run["run"]), int(run["first_seq"]), int(run["last_seq"])
    renderer = printer.renderer
    cursor = first - 1
    if tail != ALL and renderer.shows_all:
        cursor = max(cursor, last - tail)
    # With --streams, --tail counts the lines shown: keep the newest `tail` of them.
    kept: deque[Line] | None = deque(maxlen=tail) if tail != ALL and not renderer.shows_all \
        else None
    resume = Resume(cursor)
    while cursor < last:
        page = await api.history(after=cursor, limit=HISTORY_PAGE_LINES, run=number)
        wanted = [line for line in page["lines"] if int(line["seq"]) <= last]
        lines, gap = resume.accept(wanted)
        if kept is None:
            if gap is not None:
                printer.on_gap(gap)
            printer.on_lines(lines)
        else:
            kept.extend(line for line in lines if renderer.wants(line))
        if not wanted or len(wanted) < len(page["lines"]) or len(
                page["lines"]) < HISTORY_PAGE_LINES:
            break
        cursor = int(wanted[-1]["seq"])
    if kept is not None:
        printer.on_lines(list(kept))


async def run_previous(endpoint: Endpoint, number: int | None, tail: int,
                       retries: int | None, printer: Printer) -> int:
    """Print one run (``number``, or the previous one); its description goes to stderr."""
    async with ApiClient(endpoint, retries=retries) as api:
        answer = await api.runs()
        run = pick_run(list(answer.get("runs") or []), number=number)
        printer.on_notice(describe_run(run))
        await print_run(api, run, tail, printer)
    return 0
