"""Layouts: the phone size has no horizontal overflow; screenshots for the docs."""

from __future__ import annotations

import contextlib

import pytest
from console_page import (
    DESKTOP,
    PHONE,
    open_page,
    screenshot,
    send_command,
    sign_in,
    sign_in_admin,
    wait_for_text,
)
from playwright.sync_api import Browser, Page, expect

from harness import MONITOR_KEY, VsManager, run_vsmanager, simulator_command

pytestmark = pytest.mark.e2e

# Every visible control must lie inside the viewport, not only the document's scroll width.
OVERFLOW = """() => {
  const width = window.innerWidth;
  const outside = [...document.querySelectorAll("button, input, select, .xterm-screen")]
    .filter((el) => el.getClientRects().length > 0)
    .map((el) => [el.id || el.className || el.tagName, el.getBoundingClientRect()])
    .filter(([, r]) => r.left < 0 || r.right > width + 0.5)
    .map(([name, r]) => `${name}: ${Math.round(r.left)}..${Math.round(r.right)}`);
  return { scrollWidth: document.documentElement.scrollWidth, innerWidth: width, outside };
}"""


def assert_no_horizontal_overflow(page: Page) -> None:
    layout = page.evaluate(OVERFLOW)
    assert layout["scrollWidth"] <= layout["innerWidth"], layout
    assert layout["outside"] == [], layout


def test_phone_layout_has_no_horizontal_overflow(browser: Browser, shared_vsm: VsManager) -> None:
    with open_page(browser, shared_vsm.url, viewport=PHONE) as page:
        assert_no_horizontal_overflow(page)  # the sign-in form
        sign_in_admin(page)
        send_command(page, "/help")
        wait_for_text(page, "Available commands:")
        assert_no_horizontal_overflow(page)
        # The terminal, the command bar and the buttons all fit and stay usable.
        for selector in ("#command-input", "#command-send", "#server-stop", "#tool-download"):
            expect(page.locator(selector)).to_be_in_viewport()
        terminal = page.locator("#terminal").bounding_box()
        assert terminal is not None and terminal["height"] > 844 / 2
        screenshot(page, "screenshot-phone.png")
        page.keyboard.press("Control+f")
        expect(page.locator("#searchbar")).to_be_visible()
        assert_no_horizontal_overflow(page)


def demo_vsmanager() -> contextlib.AbstractContextManager[VsManager]:
    """What `vsmanager demo` runs (the simulator with players coming and going), with
    quicker events and samples so the charts have a shape within seconds."""
    return run_vsmanager(
        simulator_command("--players", "3", "--event-interval", "1", "--events-per-second", "2"),
        metrics_interval=0.5,
    )


def wait_for_charts(page: Page, points: int, hook: str = "__vsmTest") -> None:
    page.wait_for_function(f"(n) => window.{hook} && window.{hook}.chartPoints() >= n", arg=points)


def test_desktop_layout_and_screenshot(browser: Browser) -> None:
    with demo_vsmanager() as vsm, open_page(browser, vsm.url, viewport=DESKTOP) as page:
        vsm.wait_for_state("running")
        sign_in_admin(page)
        send_command(page, "/help")
        wait_for_text(page, "Available commands:")
        send_command(page, "/stats")
        wait_for_text(page, "Players online")
        expect(page.locator("#players-list button.player").first).to_be_visible()
        wait_for_charts(page, 16)
        page.fill("#command-input", "/list c")
        page.press("#command-input", "Tab")
        assert_no_horizontal_overflow(page)
        screenshot(page, "screenshot-desktop.png")


def test_phone_strip_unfolded_and_screenshot(browser: Browser) -> None:
    with demo_vsmanager() as vsm, open_page(browser, vsm.url, viewport=PHONE) as page:
        vsm.wait_for_state("running")
        sign_in_admin(page)
        page.click("#strip-toggle")
        expect(page.locator("#players-list button.player").first).to_be_visible()
        wait_for_charts(page, 16)
        assert_no_horizontal_overflow(page)
        expect(page.locator("#command-input")).to_be_in_viewport()
        screenshot(page, "screenshot-phone-strip.png")


def test_monitor_page_and_screenshot(browser: Browser) -> None:
    with demo_vsmanager() as vsm, open_page(browser, vsm.url, viewport=DESKTOP) as page:
        vsm.wait_for_state("running")
        sign_in(page, MONITOR_KEY)
        expect(page.locator("#players-list li").first).to_be_visible()
        wait_for_charts(page, 16, "__vsmMonitorTest")
        assert_no_horizontal_overflow(page)
        screenshot(page, "screenshot-monitor.png")
