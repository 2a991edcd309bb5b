"""A busy console (3,000 lines/s) drawn in batches: every line once, in order, with its run
marks where the runs begin and its level colours, both live and from the history."""

from __future__ import annotations

import re
import time

import pytest
from console_page import buffer_text, hook, open_page, sign_in_admin, wait_connected, wait_for_seq
from playwright.sync_api import Browser, Page

from harness import TIME_SCALE, VsManager, run_vsmanager, simulator_command

pytestmark = pytest.mark.e2e

RATE = "3000"
RUN_SECONDS = "1.2"  # each run floods this long, then crashes; two runs: about 7,000 lines
RUN_MARK = re.compile(r"^ ▶ run (\d+)")
TICK = re.compile(r"\[Server Event\] Tick (\d+): ")
BLUE, RED = 4, 1


def last_seq(vsm: VsManager) -> int:
    value = vsm.history(lines=0)["last_seq"]
    assert isinstance(value, int)
    return value


def first_seqs(vsm: VsManager) -> dict[int, int]:
    with vsm.client() as client:
        runs = client.get("/console/runs").json()["runs"]
    return {int(run["run"]): int(run["first_seq"]) for run in runs}


def check_everything_shown(page: Page, vsm: VsManager) -> None:
    """Every line once and in order; each run's mark right before its first line; the crash's
    lines before run 2's mark; level colours on the lines."""
    wait_for_seq(page, last_seq(vsm))
    seqs = hook(page, "keptSeqs")
    assert seqs == list(range(1, last_seq(vsm) + 1)), "a line was lost, repeated or reordered"
    assert hook(page, "duplicatesDropped") == 0
    rows = buffer_text(page)
    assert not any("lines skipped" in row for row in rows)
    marks = [(i, int(m.group(1))) for i, row in enumerate(rows) if (m := RUN_MARK.match(row))]
    assert [run for _, run in marks] == [1, 2]
    # Run 2's mark comes between the two runs' crashes.
    run2_row = marks[1][0]
    crashes = [i for i, row in enumerate(rows) if "NullReferenceException" in row]
    assert len(crashes) == 2 and crashes[0] < run2_row < crashes[1]
    # Each run's ticks start again at 1 and run on: none lost or doubled on screen.
    for start, end in ((marks[0][0], run2_row), (run2_row, len(rows))):
        ticks = [int(m.group(1)) for row in rows[start:end] if (m := TICK.search(row))]
        assert len(ticks) > 100 and ticks == list(range(1, len(ticks) + 1))
    page.wait_for_function("() => window.__vsmTest.levelsOn()")
    page.wait_for_function("() => window.__vsmTest.idle()")
    tick = hook(page, "styleOf", "] Tick 7:")
    assert (tick["fgPalette"], tick["bold"], tick["inverse"]) == (BLUE, False, False)
    crash = hook(page, "styleOf", "NullReferenceException")
    assert (crash["fgPalette"], crash["bold"]) == (RED, False)
    trace = hook(page, "styleOf", "at Vintagestory.Server.ServerMain")
    assert (trace["fgPalette"], trace["italic"]) == (RED, True)


def wait_gave_up(vsm: VsManager) -> None:
    """The second crash within the window: vsmanager gives up restarting."""
    deadline = time.monotonic() + 60 * TIME_SCALE
    while not vsm.status().get("gave_up"):
        assert time.monotonic() < deadline, "vsmanager never gave up restarting"
        time.sleep(0.1)


@pytest.mark.timeout(240)
def test_a_busy_console_shows_every_line_in_order_with_marks_and_colours(browser: Browser) -> None:
    command = simulator_command("--events-per-second", RATE, "--crash-after", RUN_SECONDS)
    with (
        run_vsmanager(command, server_restart_delay=0.5, server_restart_limit=2) as vsm,
        open_page(browser, vsm.url) as page,
    ):
        # Live: the page signs in while the game floods (run 2's mark then comes from its
        # status frame, or with the history when the machine is slow to sign in).
        sign_in_admin(page)
        seen, frames = hook(page, "lastSeq") or 0, hook(page, "linesFrames")
        wait_gave_up(vsm)
        check_everything_shown(page, vsm)
        assert sorted(first_seqs(vsm)) == [1, 2]
        # The page asks for at most 60 frames a second: what came live came in batches (a
        # frame per line or two without it; a slow machine only makes the batches bigger).
        live = last_seq(vsm) - seen
        frames = hook(page, "linesFrames") - frames
        assert frames == 0 or live / frames >= 5, (live, frames)

        # From the history: a fresh page gets all of it in big frames, marks from /console/runs.
        page.reload()
        wait_connected(page)
        check_everything_shown(page, vsm)
