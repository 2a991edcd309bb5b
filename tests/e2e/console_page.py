"""Driving the console page in a real browser: open, sign in, wait for what it renders."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from playwright.sync_api import Browser, Page

from harness import ADMIN_KEY, TIME_SCALE

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# Playwright waits take milliseconds; every one is bounded and scaled like harness.MS.
WAIT_MS = int(20_000 * TIME_SCALE)
ARTIFACTS = Path(__file__).parent / "artifacts"
DOCS = Path(__file__).resolve().parents[2] / "docs"


@contextlib.contextmanager
def open_page(
    browser: Browser,
    url: str,
    viewport: dict[str, int] = DESKTOP,
    color_scheme: Literal["dark", "light"] = "dark",
) -> Iterator[Page]:
    """A fresh browser context (its own storage, like a new browser profile) on ``url``."""
    context = browser.new_context(
        viewport=viewport,  # type: ignore[arg-type]
        color_scheme=color_scheme,
        accept_downloads=True,
    )
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(url)
        yield page
        assert not errors, f"uncaught errors in the page: {errors}"
    finally:
        context.close()


def sign_in(page: Page, key: str = ADMIN_KEY, remember: bool = False) -> None:
    page.fill("#signin-key", key)
    if remember:
        page.check("#signin-remember")
    page.click("#signin-submit")


def sign_in_admin(page: Page, key: str = ADMIN_KEY) -> None:
    """Sign in as admin and wait until the console socket is up."""
    sign_in(page, key)
    wait_connected(page)


def wait_connected(page: Page) -> None:
    page.wait_for_function("() => window.__vsmTest && window.__vsmTest.connectionState() === 'connected'")


def hook(page: Page, name: str, *args: Any) -> Any:
    return page.evaluate(f"(args) => window.__vsmTest.{name}(...args)", list(args))


def wait_idle(page: Page) -> None:
    """Wait until every line the page accepted has been parsed by the terminal."""
    page.wait_for_function("() => window.__vsmTest.idle()")


def buffer_text(page: Page) -> list[str]:
    wait_idle(page)
    return list(hook(page, "bufferText"))


def wait_for_text(page: Page, needle: str) -> None:
    page.wait_for_function(
        "(needle) => window.__vsmTest.idle() && window.__vsmTest.bufferText().some(r => r.includes(needle))",
        arg=needle,
    )


def echo_pattern(command: str) -> str:
    """A regex for the echo of ``command``: ``[CMD] /help``, or ``[CMD alice] /help`` when the
    server names the key that sent it."""
    return r"^\[CMD( [^\]]+)?\] " + re.escape(command) + "$"


def wait_for_echo(page: Page, command: str) -> None:
    page.wait_for_function(
        "(p) => window.__vsmTest.idle() && window.__vsmTest.bufferText().some(r => new RegExp(p).test(r))",
        arg=echo_pattern(command),
    )


def wait_for_seq(page: Page, seq: int) -> None:
    page.wait_for_function(
        "(seq) => (window.__vsmTest.lastSeq() ?? 0) >= seq && window.__vsmTest.idle()", arg=seq
    )


def send_command(page: Page, command: str) -> None:
    page.fill("#command-input", command)
    page.press("#command-input", "Enter")


def screenshot(page: Page, name: str) -> Path:
    """Saved under tests/e2e/artifacts; also into docs/ when VS_UPDATE_SCREENSHOTS=1."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    if os.environ.get("VS_UPDATE_SCREENSHOTS") == "1":
        page.screenshot(path=str(DOCS / name))
    return path
