"""Reconnecting: after a drop the page resumes with after=<last seq>; nothing twice, nothing lost."""

from __future__ import annotations

import itertools
import re
import time

import pytest
from console_page import (
    buffer_text,
    hook,
    open_page,
    sign_in_admin,
    wait_connected,
    wait_for_seq,
    wait_for_text,
)
from playwright.sync_api import Browser, Page, expect

from harness import TIME_SCALE, VsManager, run_vsmanager, simulator_command
from proxy import TcpProxy

pytestmark = pytest.mark.e2e

TICK = re.compile(r"Tick (\d+): ")


def wait_for_seen(page: Page, seq: int) -> None:
    """The page has received up to ``seq`` (while output keeps flowing, the terminal is never
    idle for long, so this does not wait for it to finish parsing)."""
    page.wait_for_function("(seq) => (window.__vsmTest.lastSeq() ?? 0) >= seq", arg=seq)


def stop_the_flow(vsm: VsManager, page: Page) -> None:
    """Stop the game, so that the page can finish parsing before the checks."""
    with vsm.client(timeout=30) as client:
        client.post("/server/stop", params={"wait": 20})
    wait_for_seq(page, last_seq(vsm))


def last_seq(vsm: object) -> int:
    value = vsm.history(lines=0)["last_seq"]  # type: ignore[attr-defined]
    assert isinstance(value, int)
    return value


def test_reconnect_after_server_side_drop_shows_every_line_once(browser: Browser) -> None:
    with (
        run_vsmanager(simulator_command("--events-per-second", "200")) as vsm,
        TcpProxy(vsm.port) as proxy,
        open_page(browser, proxy.url) as page,
    ):
        vsm.wait_for_state("running")
        sign_in_admin(page)
        for _ in range(3):
            wait_for_seen(page, last_seq(vsm) + 50)
            proxy.cut()
            # Lines keep coming while the page is away; it must fetch exactly those.
            expect(page.locator("#connection")).to_contain_text("reconnecting")
            time.sleep(0.5 * TIME_SCALE)
            wait_connected(page)
        wait_for_seen(page, last_seq(vsm) + 50)
        stop_the_flow(vsm, page)

        assert hook(page, "connects") == 4
        assert hook(page, "duplicatesDropped") == 0, "the server resent lines the page had"
        seqs = hook(page, "keptSeqs")
        assert seqs == list(range(1, seqs[-1] + 1)), "a line was lost or shown twice"
        ticks = [int(m.group(1)) for row in buffer_text(page) if (m := TICK.search(row))]
        assert len(ticks) > 400
        assert ticks == list(range(1, len(ticks) + 1)), "a line was lost or shown twice on screen"


def test_gap_marker_when_lines_were_evicted_while_away(browser: Browser) -> None:
    with (
        # 400 lines: 0.8 s of lines, so a slow first send on a busy machine loses none (a
        # 100-line buffer did, rightly with a gap of its own, before the one tested here).
        run_vsmanager(simulator_command("--events-per-second", "500"), console_buffer_lines=400) as vsm,
        TcpProxy(vsm.port) as proxy,
        open_page(browser, proxy.url) as page,
    ):
        vsm.wait_for_state("running")
        sign_in_admin(page)
        page.wait_for_function("() => window.__vsmTest.lastSeq() !== null")  # the history has come
        away_from = hook(page, "lastSeq")
        proxy.refuse()
        expect(page.locator("#connection")).to_contain_text("reconnecting in")
        expect(page.locator("#reconnect-now")).to_be_visible()
        # Away long enough for more than the whole buffer (400 lines) to go by.
        deadline = time.monotonic() + 20 * TIME_SCALE
        while last_seq(vsm) < away_from + 1000 and time.monotonic() < deadline:
            time.sleep(0.05)
        proxy.allow()
        # Skip the backoff wait if the page is in one (it may already be reconnecting).
        page.evaluate("document.getElementById('reconnect-now').click()")
        wait_connected(page)
        page.wait_for_function(
            "() => window.__vsmTest.bufferText().some(r => r.includes('lines skipped'))"
        )
        stop_the_flow(vsm, page)
        rows = buffer_text(page)
        gap = next(row for row in rows if "lines skipped" in row)
        skipped = int(re.search(r"— ([\d,]+) lines? skipped —", gap).group(1).replace(",", ""))  # type: ignore[union-attr]
        assert skipped >= 500
        # Up to the marker, and after it, the lines follow on without a hole of their own.
        seqs = hook(page, "keptSeqs")
        assert len(set(seqs)) == len(seqs)
        holes = [(a, b) for a, b in itertools.pairwise(seqs) if b != a + 1]
        assert len(holes) == 1 and holes[0][1] - holes[0][0] - 1 == skipped


def test_restarted_vsmanager_clears_the_console_and_starts_afresh(browser: Browser) -> None:
    with (
        run_vsmanager() as first,
        TcpProxy(first.port) as proxy,
        open_page(browser, proxy.url) as page,
    ):
        first.wait_for_state("running")
        sign_in_admin(page)
        with first.client() as client:
            for _ in range(3):
                client.post("/console/command", json={"command": "/help"})
        wait_for_seq(page, last_seq(first))
        with run_vsmanager() as second:
            second.wait_for_state("running")
            assert last_seq(second) < last_seq(first)
            # The page comes back asking for lines after a seq the new vsmanager never had.
            proxy.retarget(second.port)
            wait_for_text(page, "vsmanager restarted")
            wait_for_seq(page, last_seq(second))
            rows = buffer_text(page)
            assert "vsmanager restarted" in rows[0]
            assert not any("] /help" in row and row.startswith("[CMD") for row in rows)
            seqs = hook(page, "keptSeqs")
            assert seqs == list(range(1, seqs[-1] + 1))


def test_resume_into_a_restarted_vsmanager_with_more_lines_is_not_taken_as_missed_lines(
    browser: Browser,
) -> None:
    """The silent case of issue #8: the new vsmanager already numbers past our last seq, so
    only the console_id can tell its lines from the ones we missed."""
    with (
        run_vsmanager() as first,
        TcpProxy(first.port) as proxy,
        open_page(browser, proxy.url) as page,
    ):
        first.wait_for_state("running")
        sign_in_admin(page)
        wait_for_seq(page, last_seq(first))
        old_id = hook(page, "consoleId")
        assert isinstance(old_id, str)
        with run_vsmanager() as second:
            second.wait_for_state("running")
            with second.client() as client:
                for _ in range(5):
                    client.post("/console/command", json={"command": "/help"})
            second.wait_for_line("Available commands")
            assert last_seq(second) > last_seq(first) + 5
            proxy.retarget(second.port)
            wait_for_text(page, "vsmanager restarted; the console starts again")
            wait_for_seq(page, last_seq(second))
            rows = buffer_text(page)
            assert "vsmanager restarted; the console starts again" in rows[0]
            seqs = hook(page, "keptSeqs")
            assert seqs == list(range(1, seqs[-1] + 1)), "lines of two numberings mixed"
            assert hook(page, "consoleId") not in (None, old_id)
