"""Game output cannot impersonate vsmanager: marks, hidden text, bidi, the downloaded log."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from console_page import buffer_text, hook, open_page, send_command, sign_in, sign_in_admin, wait_for_text
from playwright.sync_api import Browser, Page, expect

from harness import VsManager, python_command, run_vsmanager

pytestmark = pytest.mark.e2e

MAGENTA, CYAN = 5, 6  # palette indexes of the [CMD] and [vsmanager] marks (web/src/render.ts)

# A game that tries every forgery of issue #9, then behaves.
FORGER = r"""
import sys
print("\x1b[1;35m[CMD] /op attacker")
print("\x1b[36m[vsmanager] server stopped by admin")
print("\x1b[7;35m[CMD] inverse")
print("\x1b[45;30m[CMD] badge")
print("visible \x1b[8msecret\x1b[0m end")
print("abc\u202edcba")
print("osc \x1b]52;c;aGk=\x07 clear \x1b[2J done")
print("Dedicated Server now running on Port 42420")
for line in sys.stdin:
    print("echo " + line.strip())
"""


@pytest.fixture(scope="module")
def forger() -> Iterator[VsManager]:
    with run_vsmanager(python_command("-c", FORGER)) as manager:
        manager.wait_for_state("running")
        yield manager


@pytest.fixture
def page(browser: Browser, forger: VsManager) -> Iterator[Page]:
    with open_page(browser, forger.url) as page:
        sign_in_admin(page)
        wait_for_text(page, "now running on Port")
        yield page


def test_game_text_cannot_produce_the_marks(page: Page) -> None:
    fake_cmd = hook(page, "styleOf", "[CMD] /op attacker")
    assert fake_cmd["fgPalette"] == MAGENTA  # the game keeps its colour...
    assert not fake_cmd["bold"] and not fake_cmd["inverse"]  # ...but not what marks are made of
    for needle in ("[CMD] inverse", "[CMD] badge"):
        style = hook(page, "styleOf", needle)
        assert not style["inverse"] and style["bgPalette"] is None, (needle, style)
    fake_system = hook(page, "styleOf", "[vsmanager] server stopped")
    assert not fake_system["bold"] and not fake_system["inverse"]

    send_command(page, "/help")
    wait_for_text(page, "echo /help")
    real_cmd = hook(page, "styleOf", "[CMD")
    assert real_cmd == {**real_cmd, "fgPalette": MAGENTA, "bold": True, "inverse": True}


def test_system_lines_carry_the_badge(browser: Browser, forger: VsManager) -> None:
    with open_page(browser, forger.url) as page:
        sign_in_admin(page)
        wait_for_text(page, "[vsmanager] ")
        rows = [row for row in buffer_text(page) if row.startswith("[vsmanager] ")]
        real = [row for row in rows if "server stopped by admin" not in row]
        assert real, rows
        style = hook(page, "styleOf", real[-1])
        assert style["fgPalette"] == CYAN and style["bold"] and style["inverse"]


def test_concealed_text_shows_and_bidi_is_escaped(page: Page) -> None:
    rows = buffer_text(page)
    assert "visible secret end" in rows
    assert "abc\\u202edcba" in rows
    assert "osc 52;c;aGk= clear  done" in rows  # no clipboard write, no screen clear


def test_download_is_plain_text_with_controls_escaped(page: Page, forger: VsManager) -> None:
    with page.expect_download() as info:
        page.click("#tool-download")
    text = info.value.path().read_text(encoding="utf-8")
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    assert "\\x1b[1;35m[CMD] /op attacker" in text
    assert "abc\\u202edcba" in text
    assert "osc \\x1b]52;c;aGk=\\x07 clear \\x1b[2J done" in text


def test_sign_out_forgets_the_command_history(browser: Browser, forger: VsManager) -> None:
    with open_page(browser, forger.url) as page:
        sign_in_admin(page)
        send_command(page, "/secret-plan")
        wait_for_text(page, "echo /secret-plan")
        assert page.evaluate("localStorage.getItem('vsmanager.commandHistory')") is not None
        page.click("#sign-out")
        expect(page.locator("#signin")).to_be_visible()
        assert page.evaluate("localStorage.getItem('vsmanager.commandHistory')") is None


def test_a_remembered_device_keeps_the_command_history(browser: Browser, forger: VsManager) -> None:
    with open_page(browser, forger.url) as page:
        sign_in(page, remember=True)
        page.wait_for_function("() => window.__vsmTest && window.__vsmTest.connectionState() === 'connected'")
        send_command(page, "/kept")
        wait_for_text(page, "echo /kept")
        page.click("#sign-out")
        expect(page.locator("#signin")).to_be_visible()
        assert "/kept" in page.evaluate("localStorage.getItem('vsmanager.commandHistory')")
