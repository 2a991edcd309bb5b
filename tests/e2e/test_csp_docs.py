"""vsmanager's own Content-Security-Policy in a real browser: an injected inline script does
not run, and /docs renders from local assets without a violation (the page itself under the
policy: test_csp.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from console_page import open_page
from playwright.sync_api import Browser, ConsoleMessage, Page

from harness import VsManager, run_vsmanager

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def vsm() -> Iterator[VsManager]:
    with run_vsmanager() as manager:
        manager.wait_for_state("running")
        yield manager


def _violations(page: Page) -> list[str]:
    found: list[str] = []

    def note(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            found.append(message.text)

    page.on("console", note)
    return found


def test_an_injected_inline_script_does_not_run(browser: Browser, vsm: VsManager) -> None:
    with open_page(browser, vsm.url) as page:
        violations = _violations(page)
        page.evaluate("""() => {
            const s = document.createElement("script");
            s.textContent = "window.__injected = true";
            document.head.appendChild(s);
        }""")
        page.wait_for_timeout(200)
        assert page.evaluate("() => window.__injected === true") is False
        assert violations  # and the browser says why


def test_docs_render_from_local_assets_under_the_policy(browser: Browser, vsm: VsManager) -> None:
    with open_page(browser, f"{vsm.url}/healthz") as page:
        violations = _violations(page)
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(f"{vsm.url}/docs", timeout=60_000)
        page.wait_for_selector(".opblock")
        assert page.locator(".opblock").count() >= 6
        assert all(url.startswith(vsm.url) or url.startswith("data:") for url in requests), requests
        assert not violations, violations
