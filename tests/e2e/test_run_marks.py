"""Runs of the game in the page: where each begins, how the last one ended, reading it."""

from __future__ import annotations

import re

import pytest
from console_page import buffer_text, hook, open_page, send_command, sign_in, sign_in_admin, wait_for_text
from playwright.sync_api import Browser, expect

from harness import MONITOR_KEY, run_vsmanager

pytestmark = pytest.mark.e2e

RUN_MARK = re.compile(r"^ ▶ run (\d+) · started \d\d:\d\d:\d\d $")


def test_crash_is_told_with_its_code_and_the_run_can_be_read(browser: Browser) -> None:
    with (
        run_vsmanager(server_restart_delay=1.5, server_restart_limit=2) as vsm,
        open_page(browser, vsm.url) as page,
    ):
        vsm.wait_for_state("running")
        sign_in_admin(page)
        wait_for_text(page, "▶ run 1")  # the history begins with run 1's mark
        send_command(page, "/crash 3")
        banner = page.locator("#run-banner")
        expect(banner).to_contain_text(re.compile(r"Run 1 crashed with exit code 3 at \d\d:\d\d:\d\d"))
        expect(banner).to_contain_text(re.compile(r"Restarting in \d s\."))
        expect(page.locator("#strip-summary")).to_contain_text("last run crashed (code 3)")

        # The restart begins run 2, marked in the console where it starts.
        wait_for_text(page, "▶ run 2")
        expect(page.locator("#server-state")).to_have_text("running")
        marks = [int(m.group(1)) for row in buffer_text(page) if (m := RUN_MARK.match(row))]
        assert marks == [1, 2]
        rows = buffer_text(page)
        crash_row = max(i for i, row in enumerate(rows) if "NullReferenceException" in row)
        assert crash_row < rows.index(next(r for r in rows if r.startswith(" ▶ run 2")))
        assert hook(page, "duplicatesDropped") == 0

        # The crash stays told (the admin was away), and its lines are one click away.
        expect(banner).to_contain_text("Run 1 crashed")
        page.click("#run-banner-read")
        dialog = page.locator("#run-output")
        expect(dialog).to_be_visible()
        expect(page.locator("#run-output-title")).to_have_text("Run 1: its last lines")
        output = page.locator("#run-output-text")
        expect(output).to_contain_text("NullReferenceException")
        expect(output).not_to_contain_text("run 2")
        page.click("#run-output-close")
        expect(dialog).to_be_hidden()
        page.click("#run-banner-dismiss")
        expect(banner).to_be_hidden()

        # A second crash within the window: vsmanager gives up, and the page says so.
        send_command(page, "/crash 4")
        expect(banner).to_contain_text("Run 2 crashed with exit code 4")
        expect(banner).to_contain_text("gave up restarting")
        expect(page.locator("#strip-summary")).to_contain_text("gave up restarting")


def test_monitor_sees_how_the_last_run_ended_without_reading_it(browser: Browser) -> None:
    with run_vsmanager(server_restart="never") as vsm, open_page(browser, vsm.url) as page:
        vsm.wait_for_state("running")
        with vsm.client() as client:
            client.post("/console/command", json={"command": "/crash 7"})
        vsm.wait_for_state("crashed")
        sign_in(page, MONITOR_KEY)
        banner = page.locator("#run-banner")
        expect(banner).to_contain_text("Run 1 crashed with exit code 7")
        expect(page.locator("#run-banner-read")).to_be_hidden()
