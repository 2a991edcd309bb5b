"""The server bar: live state, Start / Stop / Restart with confirmation, crash exit code."""

from __future__ import annotations

import pytest
from console_page import open_page, sign_in_admin, wait_for_text
from playwright.sync_api import Browser, expect

from harness import run_vsmanager, simulator_command

pytestmark = pytest.mark.e2e


def test_stop_and_start_from_the_server_bar(browser: Browser) -> None:
    with run_vsmanager() as vsm, open_page(browser, vsm.url) as page:
        vsm.wait_for_state("running")
        sign_in_admin(page)
        state = page.locator("#server-state")
        expect(state).to_have_text("running")
        expect(page.locator("#server-start")).to_be_disabled()

        page.click("#server-stop")
        expect(page.locator("#confirm")).to_be_visible()
        page.click("#confirm-cancel")
        expect(state).to_have_text("running")

        page.click("#server-stop")
        page.click("#confirm-ok")
        expect(state).to_have_text("stopped")
        wait_for_text(page, "Stopped the server!")
        # Commands make no sense now: the bar says why it is off, once (under it).
        command_input = page.locator("#command-input")
        expect(command_input).to_be_disabled()
        expect(page.locator("#command-hint")).to_have_text(
            "The server is stopped: commands are off until it is running."
        )
        expect(command_input).to_have_attribute("placeholder", "")

        page.click("#server-start")
        expect(state).to_have_text("running")
        expect(page.locator("#command-input")).to_be_enabled()

        page.click("#server-restart")
        page.click("#confirm-ok")
        expect(page.locator("#server-detail")).to_contain_text("2 restarts")
        expect(state).to_have_text("running")


def test_crash_shows_the_exit_code(browser: Browser) -> None:
    command = simulator_command("--crash-after", "1.5", "--crash-code", "3")
    with run_vsmanager(command, server_restart="never") as vsm, open_page(browser, vsm.url) as page:
        sign_in_admin(page)
        expect(page.locator("#server-state")).to_have_text("crashed")
        expect(page.locator("#server-detail")).to_have_text("exit code 3")
        expect(page.locator("#server-start")).to_be_enabled()
