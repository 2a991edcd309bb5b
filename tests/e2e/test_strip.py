"""The resource strip: version, players, live charts; folding; the Monitor view."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from console_page import PHONE, open_page, sign_in, sign_in_admin, wait_for_text
from playwright.sync_api import Browser, Page, expect
from test_layout import assert_no_horizontal_overflow

from harness import MONITOR_KEY, VsManager, python_command, run_vsmanager

pytestmark = pytest.mark.e2e

# A game that says what a Vintage Story server says: its version, two players joining, then
# a line a second; /stop ends it.
GAME = r"""
import sys, threading, time
def say(text):
    print(time.strftime("%-d.%-m.%Y %H:%M:%S") + " " + text, flush=True)
say("[Server Notification] Game Version: v1.22.6 (Stable)")
say("[Server Event] Dedicated Server now running on Port 42420 and all ips!")
say("[Server Event] Tyron [127.0.0.1]:51234 joins.")
say("[Server Event] Saraty [127.0.0.1]:51235 joins.")
def tick():
    n = 0
    while True:
        n += 1
        say(f"[Server Debug] tick {n}")
        time.sleep(0.2)
threading.Thread(target=tick, daemon=True).start()
for line in sys.stdin:
    if line.strip() == "/stop":
        say("[Server Event] Stopped the server!")
        sys.exit(0)
    say("[Server Notification] Handling Console Command " + line.strip())
"""


@pytest.fixture(scope="module")
def game_vsm() -> Iterator[VsManager]:
    with run_vsmanager(python_command("-c", GAME), metrics_interval=0.5) as manager:
        manager.wait_for_state("running")
        yield manager


def wait_for_chart_points(page: Page, points: int, hook: str = "__vsmTest") -> None:
    page.wait_for_function(f"(n) => window.{hook} && window.{hook}.chartPoints() >= n", arg=points)


def test_strip_shows_version_players_and_live_charts(browser: Browser, game_vsm: VsManager) -> None:
    with open_page(browser, game_vsm.url) as page:
        sign_in_admin(page)
        summary = page.locator("#strip-summary")
        expect(summary).to_contain_text("v1.22.6 (Stable)")
        expect(summary).to_contain_text("2 players")
        players = page.locator("#players-list button.player")
        expect(players).to_have_text(["Tyron", "Saraty"])
        for chart in ("Game CPU", "Game memory", "Players", "Console lines/s"):
            expect(page.locator("#strip-charts")).to_contain_text(chart)
        wait_for_chart_points(page, 3)
        expect(page.locator("#chart-memory .spark-value")).to_contain_text("MiB")
        expect(page.locator("#chart-players .spark-value")).to_have_text("2")
        assert page.locator("#strip-charts canvas").count() == 4


def test_a_players_menu_can_put_the_name_in_the_command_bar(browser: Browser, game_vsm: VsManager) -> None:
    with open_page(browser, game_vsm.url) as page:
        sign_in_admin(page)
        page.fill("#command-input", "/kick")
        page.click("#players-list button.player >> text=Saraty")
        page.click("#player-actions button >> text=Put in command bar")
        field = page.locator("#command-input")
        expect(field).to_have_value("/kick Saraty")
        expect(field).to_be_focused()
        page.press("#command-input", "Enter")
        wait_for_text(page, "Handling Console Command /kick Saraty")


def test_strip_folds_away_and_stays_folded(browser: Browser, game_vsm: VsManager) -> None:
    with open_page(browser, game_vsm.url) as page:
        sign_in_admin(page)
        toggle = page.locator("#strip-toggle")
        expect(toggle).to_have_attribute("aria-expanded", "true")
        before = page.locator("#terminal").bounding_box()
        toggle.click()
        expect(page.locator("#strip-body")).to_be_hidden()
        expect(toggle).to_have_attribute("aria-expanded", "false")
        expect(page.locator("#strip-summary")).to_contain_text("v1.22.6")  # the summary stays
        assert before is not None
        grown = before["height"] + 40
        page.wait_for_function(f"() => document.getElementById('terminal').clientHeight > {grown}")
        page.reload()
        expect(page.locator("#strip-toggle")).to_have_attribute("aria-expanded", "false")
        expect(page.locator("#strip-body")).to_be_hidden()


def test_monitor_sees_status_charts_and_players_but_no_console(browser: Browser, game_vsm: VsManager) -> None:
    with open_page(browser, game_vsm.url) as page:
        sign_in(page, MONITOR_KEY)
        expect(page.locator("#server-state")).to_have_text("running")
        expect(page.locator("#strip")).to_be_visible()
        expect(page.locator("#strip-summary")).to_contain_text("2 players")
        expect(page.locator("#players-list li")).to_have_text(["Tyron", "Saraty"])
        assert page.locator("#players-list button").count() == 0  # no command bar to fill
        wait_for_chart_points(page, 3, "__vsmMonitorTest")
        expect(page.locator("#console")).to_be_hidden()
        expect(page.locator("#command-input")).to_be_hidden()
        expect(page.locator("#server-actions")).to_be_hidden()
        assert page.evaluate("window.__vsmTest === undefined")


def test_strip_is_usable_on_a_phone(browser: Browser, game_vsm: VsManager) -> None:
    with open_page(browser, game_vsm.url, viewport=PHONE) as page:
        sign_in_admin(page)
        toggle = page.locator("#strip-toggle")
        expect(toggle).to_have_attribute("aria-expanded", "false")  # a phone starts folded
        expect(page.locator("#strip-summary")).to_contain_text("2 players")
        toggle.click()
        wait_for_chart_points(page, 2)
        assert_no_horizontal_overflow(page)
        for selector in ("#strip-toggle", "#players-list button.player >> nth=0", "#command-input"):
            expect(page.locator(selector)).to_be_in_viewport()
        canvases = page.locator("#strip-charts canvas")
        for i in range(canvases.count()):
            box = canvases.nth(i).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5
        terminal = page.locator("#terminal").bounding_box()
        assert terminal is not None and terminal["height"] > 200  # the console stays usable
