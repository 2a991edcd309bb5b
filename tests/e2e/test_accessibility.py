"""Keyboard-only use and labels."""

from __future__ import annotations

import pytest
from console_page import open_page, sign_in_admin, wait_for_text
from playwright.sync_api import Browser, expect

from harness import VsManager

pytestmark = pytest.mark.e2e

UNLABELLED = """() => [...document.querySelectorAll("button, input, select")]
  .filter((el) => el.getClientRects().length > 0)
  .filter((el) => !(el.getAttribute("aria-label") || el.labels?.length || el.innerText.trim()))
  .map((el) => el.outerHTML.slice(0, 80))"""


def test_every_control_has_a_label(browser: Browser, shared_vsm: VsManager) -> None:
    with open_page(browser, shared_vsm.url) as page:
        assert page.evaluate(UNLABELLED) == []
        sign_in_admin(page)
        page.keyboard.press("Control+f")
        assert page.evaluate(UNLABELLED) == []


def test_keyboard_only_sign_in_and_command(browser: Browser, shared_vsm: VsManager) -> None:
    with open_page(browser, shared_vsm.url) as page:
        expect(page.locator("#signin-key")).to_be_focused()
        page.keyboard.type(shared_vsm.admin_key)
        page.keyboard.press("Enter")
        # The command bar has the focus once signed in: type and press Enter.
        expect(page.locator("#command-input")).to_be_focused()
        page.wait_for_function("() => window.__vsmTest.connectionState() === 'connected'")
        page.keyboard.type("/time")
        page.keyboard.press("Enter")
        wait_for_text(page, "Server time is")
        # Shift+Tab walks back into the terminal, and Tab leaves it again: no trap.
        page.locator("#terminal textarea").focus()
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('#terminal') === null")


def test_focus_is_visible(browser: Browser, shared_vsm: VsManager) -> None:
    with open_page(browser, shared_vsm.url) as page:
        sign_in_admin(page)
        page.locator("#tool-search").focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")  # keyboard focus, so :focus-visible applies
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline not in ("", "none")
