"""Signing in: a good key, a wrong key, a Monitor key, signing out."""

from __future__ import annotations

import pytest
from console_page import open_page, sign_in, sign_in_admin
from playwright.sync_api import Browser, expect

from harness import MONITOR_KEY, VsManager

pytestmark = pytest.mark.e2e


def test_admin_key_opens_the_live_console(browser: Browser, shared_vsm: VsManager) -> None:
    with open_page(browser, shared_vsm.url) as page:
        sign_in_admin(page)
        expect(page.locator("#console")).to_be_visible()
        expect(page.locator("#connection")).to_have_text("connected")
        expect(page.locator("#server-state")).to_have_text("running")
        # The key is kept for the tab only, and never shows in the address bar.
        assert shared_vsm.admin_key not in page.url
        assert page.evaluate("localStorage.getItem('vsmanager.apiKey')") is None
        assert page.evaluate("sessionStorage.getItem('vsmanager.apiKey')") == shared_vsm.admin_key


def test_wrong_key_is_refused_at_once(browser: Browser, shared_vsm: VsManager) -> None:
    with open_page(browser, shared_vsm.url) as page:
        sign_in(page, "not-the-right-key-0000000000")
        expect(page.locator("#signin-error")).to_contain_text("not valid")
        expect(page.locator("#app")).to_be_hidden()
        assert page.evaluate("sessionStorage.getItem('vsmanager.apiKey')") is None


def test_monitor_sees_status_but_no_console(browser: Browser, shared_vsm: VsManager) -> None:
    with open_page(browser, shared_vsm.url) as page:
        sign_in(page, MONITOR_KEY)
        expect(page.locator("#monitor-note")).to_be_visible()
        expect(page.locator("#monitor-note")).to_contain_text("console")
        expect(page.locator("#server-state")).to_have_text("running")
        expect(page.locator("#console")).to_be_hidden()
        expect(page.locator("#server-actions")).to_be_hidden()
        assert page.evaluate("window.__vsmTest === undefined")


def test_reload_keeps_the_tab_signed_in_and_sign_out_forgets(browser: Browser, shared_vsm: VsManager) -> None:
    with open_page(browser, shared_vsm.url) as page:
        sign_in(page, remember=True)
        expect(page.locator("#connection")).to_have_text("connected")
        page.reload()
        expect(page.locator("#connection")).to_have_text("connected")
        page.click("#sign-out")
        expect(page.locator("#signin")).to_be_visible()
        expect(page.locator("#signin-error")).to_have_text("Signed out.")
        assert page.evaluate("localStorage.getItem('vsmanager.apiKey')") is None
        assert page.evaluate("sessionStorage.getItem('vsmanager.apiKey')") is None
