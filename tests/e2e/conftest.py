"""Browser tests: Playwright driving Debian's chromium against a real vsmanager.

They are skipped when chromium or the built page is missing, unless VS_REQUIRE_BROWSER=1
(CI), where a missing piece is a failure: the browser tests must never silently vanish.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("VS_CHROMIUM", "/usr/bin/chromium")
STATIC_INDEX = Path(__file__).resolve().parents[2] / "src" / "vsmanager" / "static" / "index.html"
REQUIRE_BROWSER = os.environ.get("VS_REQUIRE_BROWSER") == "1"
ARTIFACTS = Path(__file__).parent / "artifacts"
DOCS = Path(__file__).resolve().parents[2] / "docs"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Tests run beside other work on a small machine: never let chromium throttle a page
    # it believes is in the background.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    # A page response the test rewrites (test_csp.py adds a policy) has no address space of
    # its own, and Local Network Access would then refuse its socket to loopback.
    "--disable-features=LocalNetworkAccessChecks",
]


def _missing() -> str | None:
    if not Path(CHROMIUM).is_file():
        return f"chromium not found at {CHROMIUM} (install Debian's chromium or set VS_CHROMIUM)"
    if not STATIC_INDEX.is_file():
        return f"web console not built ({STATIC_INDEX} missing): run `scripts/install`"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install -e '.[test]')"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _missing()
    if reason is None or REQUIRE_BROWSER:
        return  # with VS_REQUIRE_BROWSER=1 the `browser` fixture fails each test instead
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


# Per module, not per session: the sync API runs an event loop in this thread for as long as
# Playwright is started, and the asyncio tests that follow must find none running.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    reason = _missing()
    if reason is not None:
        if REQUIRE_BROWSER:
            pytest.fail(f"VS_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
