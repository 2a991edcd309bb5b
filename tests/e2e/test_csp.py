"""The page works under a strict Content-Security-Policy: no inline script, connect-src 'self'.

vsmanager sends the policy (docs/security.md); a vsmanager without one gets the policy the
page is built for added to its page response, so the check runs either way.
"""

from __future__ import annotations

import httpx
import pytest
from console_page import WAIT_MS, hook, send_command, sign_in_admin, wait_for_echo
from playwright.sync_api import Browser, Route

from harness import VsManager

pytestmark = pytest.mark.e2e

# What the page needs, and no more. style-src needs 'unsafe-inline' for xterm.js alone: its
# renderer writes its theme and cell sizes into <style> elements (it has no nonce option),
# and without them the console loses every colour, vsmanager's marks included.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self'; "
    "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

VIOLATIONS = """() => {
  window.__cspViolations = [];
  document.addEventListener("securitypolicyviolation", (e) =>
    window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
}"""


def test_page_runs_under_its_content_security_policy(browser: Browser, shared_vsm: VsManager) -> None:
    served = httpx.get(shared_vsm.url + "/", timeout=10).headers.get("content-security-policy")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    try:
        if served is None:
            def add_policy(route: Route) -> None:
                response = route.fetch()
                headers = {**response.headers, "content-security-policy": PAGE_POLICY}
                route.fulfill(response=response, headers=headers)

            page.route(shared_vsm.url + "/", add_policy)
        page.add_init_script(script=f"({VIOLATIONS})()")
        page.goto(shared_vsm.url)
        sign_in_admin(page)
        send_command(page, "/help")
        wait_for_echo(page, "/help")
        page.wait_for_timeout(300)  # let late violations (charts, styles) be reported
        assert page.evaluate("window.__cspViolations") == []
        # The theme's colours reached the terminal: the [CMD] badge has a coloured background.
        badge = page.evaluate(
            """() => [...document.querySelectorAll('#terminal .xterm-rows span')]
                 .filter(s => s.textContent.startsWith('[CMD'))
                 .map(s => getComputedStyle(s).backgroundColor).pop()"""
        )
        assert badge not in (None, "", "rgba(0, 0, 0, 0)"), badge
        assert hook(page, "connectionState") == "connected"
    finally:
        context.close()

