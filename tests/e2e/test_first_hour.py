"""Issue #17's page items, each at desktop (1280 by 800) and phone (390 by 844) sizes."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from console_page import (
    DESKTOP,
    PHONE,
    echo_pattern,
    hook,
    open_page,
    screenshot,
    send_command,
    sign_in,
    sign_in_admin,
    wait_connected,
    wait_for_echo,
    wait_for_text,
    wait_idle,
)
from playwright.sync_api import Browser, Page, expect

from harness import MONITOR_KEY, VsManager, python_command, run_vsmanager, stop_process

pytestmark = pytest.mark.e2e

SIZES = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]

# A game that prints what a Vintage Story server prints, on demand: players joining, lines
# to scroll and search, one of each level, a forged echo, a crash with its stack trace.
GAME = r"""
import sys, time
def say(text, channel=None):
    if channel:
        text = time.strftime("%-d.%-m.%Y %H:%M:%S") + f" [Server {channel}] " + text
    print(text, flush=True)
names = []
def join(name):
    names.append(name)
    say(f"{name} [127.0.0.1]:{50000 + len(names)} joins.", "Event")
say("Game Version: v1.22.6 (Stable)", "Notification")
say("Dedicated Server now running on Port 42420 and all ips!", "Event")
join("Tyron")
for line in sys.stdin:
    command = line.strip()
    say("Handling Console Command " + command, "Notification")
    verb, _, arg = command.partition(" ")
    if verb == "/stop":
        say("Stopped the server!", "Event")
        sys.exit(0)
    elif verb == "/crash":
        say("Unhandled exception: System.NullReferenceException: Object reference not set", "Error")
        say("   at Vintagestory.Server.ServerMain.Process()")
        say("   at Vintagestory.Server.ServerProgram.Main(String[] args)")
        sys.exit(3)
    elif verb == "/join":
        for _ in range(int(arg)):
            join(f"Player{len(names) + 1:02d}")
    elif verb == "/lines":
        count, _, tag = arg.partition(" ")
        for i in range(int(count)):
            say(f"filler {i:03d} needle {tag}".rstrip())
    elif verb == "/levels":  # unstamped (the patterns allow it), so that each fits a phone's row
        print("[Server Warning] overloaded tick", flush=True)
        print("[Server Error] broke in a mod", flush=True)
        say("System.InvalidOperationException: bad")
        say("   at Thing.Update()")
        print("[Server Chat] Priya13: hiiii", flush=True)
        print("[Server Event] Autosave done", flush=True)
        print("[Server Notification] plain notification", flush=True)
    elif verb == "/forge":
        say("[CMD alice] /op attacker")
        say("[vsmanager] server stopped by admin")
    elif verb in ("/kick", "/ban"):
        name = arg.split(" ")[0]
        if name in names:
            names.remove(name)
            say(f"Player {name} left.", "Event")
"""


def game_vsmanager(**settings: object) -> object:
    return run_vsmanager(python_command("-c", GAME), metrics_interval=0.5, **settings)


@pytest.fixture(scope="module")
def game_vsm() -> Iterator[VsManager]:
    with game_vsmanager() as manager:  # type: ignore[attr-defined]
        manager.wait_for_state("running")
        yield manager


def viewport(page: Page) -> list[str]:
    wait_idle(page)
    return list(hook(page, "viewportText"))


def scroll_up(page: Page) -> None:
    page.locator("#terminal").hover()
    for _ in range(10):
        page.mouse.wheel(0, -2000)
    expect(page.locator("#jump-latest")).to_be_visible()
    assert hook(page, "following") is False


# -- scroll on send ------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_a_command_sent_while_scrolled_up_shows_its_echo_and_refusal(
    browser: Browser, game_vsm: VsManager, size: dict[str, int]
) -> None:
    with open_page(browser, game_vsm.url, viewport=size) as page:
        sign_in_admin(page)
        send_command(page, f"/lines 200 scroll{size['width']}")
        wait_for_text(page, f"filler 199 needle scroll{size['width']}")
        scroll_up(page)
        send_command(page, "/stats")
        page.wait_for_function(
            "(p) => window.__vsmTest.idle()"
            " && window.__vsmTest.viewportText().some(r => new RegExp(p).test(r))",
            arg=echo_pattern("/stats"),
        )
        assert hook(page, "following") is True
        expect(page.locator("#jump-latest")).to_be_hidden()

        scroll_up(page)
        send_command(page, "/announce ring\x07ring")  # a control character: refused (422)
        page.wait_for_function(
            "() => window.__vsmTest.idle()"
            " && window.__vsmTest.viewportText().some(r => r.includes('was refused'))"
        )


# -- search --------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_search_starts_at_the_newest_match_and_numbers_from_it(
    browser: Browser, game_vsm: VsManager, size: dict[str, int]
) -> None:
    with open_page(browser, game_vsm.url, viewport=size) as page:
        sign_in_admin(page)
        tag = f"search{size['width']}"  # this test's lines, not an earlier test's
        send_command(page, f"/lines 39 {tag}")
        wait_for_text(page, f"filler 038 needle {tag}")
        page.keyboard.press("Control+f")
        page.fill("#search-input", "needle")
        count = page.locator("#search-count")
        # The history holds earlier tests' fillers too: count them from the page's own text.
        total = sum("needle" in row for row in hook(page, "bufferText"))
        expect(count).to_have_text(f"1 of {total}")
        assert f"filler 038 needle {tag}" in (hook(page, "selectedRowText") or "")
        page.press("#search-input", "Enter")  # on to the older match
        expect(count).to_have_text(f"2 of {total}")
        assert f"filler 037 needle {tag}" in (hook(page, "selectedRowText") or "")
        page.press("#search-input", "Shift+Enter")  # back to the newer one
        expect(count).to_have_text(f"1 of {total}")
        assert f"filler 038 needle {tag}" in (hook(page, "selectedRowText") or "")


# -- level colours -------------------------------------------------------------------------

# Palette indexes: 1 red, 2 green, 3 yellow, 4 blue. Short needles: on a phone a line wraps,
# and each needle must sit on one row.
LEVELS = {
    "overloaded": (3, False),
    "broke": (1, False),
    "InvalidOperation": (1, True),
    "Thing.Update": (1, True),
    "hiiii": (2, False),
    "Autosave": (4, False),
}


@pytest.mark.parametrize("size", SIZES)
def test_game_lines_have_level_colours_a_legend_and_a_switch(
    browser: Browser, game_vsm: VsManager, size: dict[str, int]
) -> None:
    with open_page(browser, game_vsm.url, viewport=size) as page:
        sign_in_admin(page)
        send_command(page, "/levels")
        wait_for_text(page, "plain notification")
        page.wait_for_function("() => window.__vsmTest.levelsOn()")
        wait_idle(page)
        for needle, (colour, italic) in LEVELS.items():
            style = hook(page, "styleOf", needle)
            assert style is not None, needle
            assert (style["fgPalette"], style["italic"]) == (colour, italic), (needle, style)
            assert not style["bold"] and not style["inverse"] and style["bgPalette"] is None
        assert hook(page, "styleOf", "plain notification")["fgPalette"] is None
        legend = page.locator("#levels-legend span")
        expect(legend).to_have_text(["warning", "error", "stack trace", "chat", "event"])
        screenshot(page, f"first-hour-levels-{size['width']}.png")
        toggle = page.locator("#tool-levels")
        expect(toggle).to_have_attribute("aria-pressed", "true")  # on by default
        expect(toggle).to_be_in_viewport()

        toggle.click()
        expect(toggle).to_have_attribute("aria-pressed", "false")
        page.wait_for_function(
            "() => window.__vsmTest.idle() && window.__vsmTest.styleOf('overloaded')?.fgPalette === null"
        )
        page.reload()  # the choice is kept (and the tab stays signed in)
        wait_connected(page)
        expect(page.locator("#tool-levels")).to_have_attribute("aria-pressed", "false")


# -- player actions ------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_a_players_actions_are_confirmed_admin_commands(
    browser: Browser, game_vsm: VsManager, size: dict[str, int]
) -> None:
    with open_page(browser, game_vsm.url, viewport=size) as page:
        sign_in_admin(page)
        if page.locator("#strip-toggle").get_attribute("aria-expanded") == "false":
            page.click("#strip-toggle")
        page.click("#players-list button.player >> text=Tyron")
        menu = page.locator("#player-menu")
        expect(menu).to_be_visible()
        expect(page.locator("#player-actions button")).to_have_text(
            ["Kick", "Ban", "Op", "Whitelist", "Message", "Put in command bar"]
        )
        expect(page.locator("#player-cancel")).to_be_focused()

        # A message needs its text; the command is shown in full before it is sent.
        page.click("#player-actions button >> text=Message")
        expect(page.locator("#player-menu-title")).to_have_text("Message Tyron?")
        expect(page.locator("#player-send")).to_be_disabled()
        page.fill("#player-text", "server restarts in 5 minutes")
        expect(page.locator("#player-command")).to_have_text("/msg Tyron server restarts in 5 minutes")
        screenshot(page, f"first-hour-player-{size['width']}.png")
        page.click("#player-cancel")  # cancelled: nothing sent
        expect(menu).to_be_hidden()

        page.click("#players-list button.player >> text=Tyron")
        page.click("#player-actions button >> text=Op")
        expect(page.locator("#player-command")).to_have_text("/op Tyron")
        page.click("#player-send")
        wait_for_echo(page, "/op Tyron")
        wait_for_text(page, "Handling Console Command /op Tyron")
        assert any(re.match(r"^\[CMD admin\] /op Tyron$", row) for row in hook(page, "bufferText"))

        page.click("#players-list button.player >> text=Tyron")
        page.click("#player-actions button >> text=Whitelist")
        expect(page.locator("#player-command")).to_have_text("/player Tyron whitelist on")
        page.click("#player-cancel")


def test_a_kick_with_a_reason_removes_the_player(browser: Browser) -> None:
    with game_vsmanager() as vsm, open_page(browser, vsm.url) as page:  # type: ignore[attr-defined]
        vsm.wait_for_state("running")
        sign_in_admin(page)
        page.click("#players-list button.player >> text=Tyron")
        page.click("#player-actions button >> text=Kick")
        page.fill("#player-text", "griefing")
        expect(page.locator("#player-command")).to_have_text("/kick Tyron griefing")
        page.press("#player-text", "Enter")
        wait_for_echo(page, "/kick Tyron griefing")
        expect(page.locator("#players-list")).to_have_text("Nobody is online.")


# -- players: one source -------------------------------------------------------------------

PLAYERS_NOW = """() => ({
  listed: document.querySelectorAll('#players-list button.player').length,
  count: document.getElementById('players-count').textContent,
  chart: window.__vsmTest.playersOnChart(),
})"""


@pytest.mark.parametrize("size", SIZES)
def test_the_players_chart_agrees_with_the_player_list(browser: Browser, size: dict[str, int]) -> None:
    with game_vsmanager() as vsm, open_page(browser, vsm.url, viewport=size) as page:  # type: ignore[attr-defined]
        vsm.wait_for_state("running")
        sign_in_admin(page)
        if page.locator("#strip-toggle").get_attribute("aria-expanded") == "false":
            page.click("#strip-toggle")
        page.wait_for_function("() => window.__vsmTest.chartPoints() >= 1")
        send_command(page, "/join 4")
        expect(page.locator("#players-count")).to_have_text("(5)")
        now = page.evaluate(PLAYERS_NOW)  # one moment: the list, its count, the chart
        assert now == {"listed": 5, "count": "(5)", "chart": {"point": 5, "value": "5"}}

        # vsmanager stops (it stops the game first): nobody is online, on the chart too.
        stop_process(vsm.process)
        expect(page.locator("#players-list")).to_have_text("Nobody is online.")
        now = page.evaluate(PLAYERS_NOW)
        assert now["chart"] == {"point": 0, "value": "0"} and now["count"] == "(0)"
        # Unreachable now: no action is offered.
        for button in ("#server-start", "#server-stop", "#server-restart"):
            expect(page.locator(button)).to_be_disabled()


# -- charts, crash, run dialog ------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_a_crash_is_marked_on_the_charts_and_its_run_opens_at_the_end(
    browser: Browser, size: dict[str, int]
) -> None:
    with (
        game_vsmanager(server_restart_delay=1) as vsm,  # type: ignore[attr-defined]
        open_page(browser, vsm.url, viewport=size) as page,
    ):
        vsm.wait_for_state("running")
        sign_in_admin(page)
        if page.locator("#strip-toggle").get_attribute("aria-expanded") == "false":
            page.click("#strip-toggle")
        send_command(page, "/forge")
        send_command(page, "/lines 150 crash")
        wait_for_text(page, "filler 149 needle crash")
        page.wait_for_function("() => window.__vsmTest.chartPoints() >= 3")
        send_command(page, "/crash")
        vsm.wait_for_state("crashed", "starting", "running")
        vsm.wait_for_state("running")

        # The charts: a time axis, values, and the crash said where the lines break.
        page.wait_for_function("() => window.__vsmTest.chartMarkers().some(m => m.outcome === 'crashed')")
        axes = hook(page, "chartAxes")
        assert axes["time"] and all(re.fullmatch(r"\d\d:\d\d", t) for t in axes["time"]), axes
        assert axes["value"] and all(v.endswith("%") for v in axes["value"]), axes
        cpu = page.locator("#chart-cpu .spark-plot")
        expect(cpu).to_have_attribute("aria-label", re.compile("run 1 crashed"))

        # The banner is compact on a phone, and the run opens at its end.
        banner = page.locator("#run-banner")
        expect(banner).to_contain_text("Run 1 crashed with exit code 3")
        box = banner.bounding_box()
        assert box is not None and box["height"] <= 0.16 * size["height"], box
        screenshot(page, f"first-hour-crash-{size['width']}.png")
        page.click("#run-banner-read")
        output = page.locator("#run-output-text")
        expect(output).to_contain_text("NullReferenceException")
        page.wait_for_function(
            "() => { const o = document.getElementById('run-output-text');"
            " return o.scrollHeight > o.clientHeight && o.scrollTop + o.clientHeight >= o.scrollHeight - 2; }"
        )
        trace = page.locator("#run-output-text .run-line", has_text="at Vintagestory.Server.ServerProgram.Main")
        expect(trace).to_be_in_viewport()
        expect(trace).to_have_attribute("data-level", "trace")

        # One timestamp a line (vsmanager's), and marks as badges the game cannot make.
        rows = page.locator("#run-output-text .run-line")
        texts = rows.evaluate_all("rows => rows.map(r => r.textContent)")
        assert all(re.match(r"^\d\d:\d\d:\d\d ", text) for text in texts)
        assert not any(re.search(r"\d{1,2}\.\d{1,2}\.\d{4} \d{1,2}:\d\d:\d\d", text) for text in texts)
        echo = page.locator("#run-output-text .run-line", has=page.locator(".badge-command"))
        expect(echo.first).to_contain_text("CMD admin")
        forged = page.locator("#run-output-text .run-line", has_text="[CMD alice] /op attacker")
        expect(forged).to_have_count(1)
        assert forged.locator(".badge").count() == 0  # plain text, no badge
        fake_system = page.locator("#run-output-text .run-line", has_text="[vsmanager] server stopped by admin")
        assert fake_system.locator(".badge").count() == 0
        expect(page.locator("#run-output-text .badge-system").first).to_have_text("vsmanager")
        screenshot(page, f"first-hour-run-{size['width']}.png")


# -- sign-in -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_sign_in_card_follows_the_system_theme(
    browser: Browser, game_vsm: VsManager, size: dict[str, int], scheme: str
) -> None:
    with open_page(browser, game_vsm.url, viewport=size, color_scheme=scheme) as page:  # type: ignore[arg-type]
        card = page.locator(".signin-card")
        expect(card).to_be_visible()
        background = card.evaluate("el => getComputedStyle(el).backgroundColor")
        assert background == ("rgb(255, 255, 255)" if scheme == "light" else "rgb(26, 29, 34)")
        expect(page.locator("#signin-demo")).to_be_hidden()  # not the demo
        sign_in_admin(page)
        assert page.evaluate("document.documentElement.dataset.theme") == scheme


def test_the_demo_hint_shows_only_for_the_demo(browser: Browser) -> None:
    with game_vsmanager(web_demo="true") as vsm, open_page(browser, vsm.url, viewport=PHONE) as page:  # type: ignore[attr-defined]
        expect(page.locator("#signin-demo")).to_be_visible()
        expect(page.locator("#signin-demo")).to_contain_text("vsmanager demo")


# -- command bar words ---------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_the_command_bar_says_things_once_and_forgets_a_cleared_completion(
    browser: Browser, size: dict[str, int]
) -> None:
    with game_vsmanager(server_restart="never") as vsm, open_page(browser, vsm.url, viewport=size) as page:  # type: ignore[attr-defined]
        vsm.wait_for_state("running")
        sign_in_admin(page)
        hint = page.locator("#command-hint")
        page.fill("#command-input", "/ti")
        page.press("#command-input", "Tab")
        page.fill("#command-input", "/")
        page.press("#command-input", "Tab")
        expect(hint).not_to_be_empty()  # the candidates
        page.fill("#command-input", "")
        page.locator("#command-input").dispatch_event("input")
        expect(hint).to_be_empty()

        send_command(page, "/crash")
        expect(page.locator("#server-state")).to_have_text("crashed")
        expect(hint).to_have_text("The server is crashed: commands are off until it is running.")
        assert page.evaluate("document.body.innerText.split('commands are off').length - 1") == 1
        expect(page.locator("#command-input")).to_have_attribute("placeholder", "")


# -- unreachable ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_actions_are_off_while_vsmanager_is_unreachable(browser: Browser, size: dict[str, int]) -> None:
    with game_vsmanager(server_restart="never") as vsm, open_page(browser, vsm.url, viewport=size) as page:  # type: ignore[attr-defined]
        vsm.wait_for_state("running")
        sign_in_admin(page)
        send_command(page, "/stop")
        page.click("#confirm-ok")
        expect(page.locator("#server-state")).to_have_text("stopped")
        expect(page.locator("#server-start")).to_be_enabled()
        stop_process(vsm.process)
        expect(page.locator("#connection")).to_contain_text("reconnecting")
        for button in ("#server-start", "#server-stop", "#server-restart", "#command-send"):
            expect(page.locator(button)).to_be_disabled()


# -- Monitor on a phone --------------------------------------------------------------------


def test_the_monitor_view_on_a_phone_shows_its_charts_at_once(browser: Browser, game_vsm: VsManager) -> None:
    with open_page(browser, game_vsm.url, viewport=PHONE) as page:
        sign_in(page, MONITOR_KEY)
        expect(page.locator("#strip-toggle")).to_be_hidden()  # nothing to unfold
        expect(page.locator("#strip-charts")).to_be_visible()
        page.wait_for_function("() => window.__vsmMonitorTest && window.__vsmMonitorTest.chartPoints() >= 2")
        screenshot(page, "first-hour-monitor-phone.png")
        charts = page.locator("#strip-charts").bounding_box()
        assert charts is not None and charts["y"] < PHONE["height"] / 2 and charts["height"] > 300
        expect(page.locator("#players-list li")).to_have_text(["Tyron"])
        assert page.locator("#players-list button").count() == 0  # a Monitor has no actions


def test_the_monitor_view_on_a_desktop_has_no_actions(browser: Browser, game_vsm: VsManager) -> None:
    with open_page(browser, game_vsm.url, viewport=DESKTOP) as page:
        sign_in(page, MONITOR_KEY)
        expect(page.locator("#strip-charts")).to_be_visible()
        expect(page.locator("#players-list li")).to_have_text(["Tyron"])
        assert page.locator("#players-list button").count() == 0


# -- the strip's height --------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_the_strip_keeps_its_height_as_the_player_list_wraps(browser: Browser, size: dict[str, int]) -> None:
    with game_vsmanager() as vsm, open_page(browser, vsm.url, viewport=size) as page:  # type: ignore[attr-defined]
        vsm.wait_for_state("running")
        sign_in_admin(page)
        if page.locator("#strip-toggle").get_attribute("aria-expanded") == "false":
            page.click("#strip-toggle")
        expect(page.locator("#players-count")).to_have_text("(1)")
        page.wait_for_function("() => window.__vsmTest.chartPoints() >= 1")
        before = page.locator("#strip").bounding_box()
        terminal_before = page.locator("#terminal").bounding_box()
        send_command(page, "/join 29")
        expect(page.locator("#players-count")).to_have_text("(30)")
        after = page.locator("#strip").bounding_box()
        terminal_after = page.locator("#terminal").bounding_box()
        assert before is not None and after is not None and terminal_before and terminal_after
        assert abs(after["height"] - before["height"]) < 1, (before, after)
        assert abs(terminal_after["height"] - terminal_before["height"]) < 1


# -- the first sample ----------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_the_first_resource_sample_shows_at_once(browser: Browser, size: dict[str, int]) -> None:
    # A long interval: a point on the chart within seconds cannot be the interval's sample.
    with (
        run_vsmanager(python_command("-c", GAME), metrics_interval=600) as vsm,
        open_page(browser, vsm.url, viewport=size) as page,
    ):
        vsm.wait_for_state("running")
        sign_in_admin(page)
        if page.locator("#strip-toggle").get_attribute("aria-expanded") == "false":
            page.click("#strip-toggle")
        page.wait_for_function("() => window.__vsmTest.chartPoints() >= 1")
        # The game's own first sample (its memory), not only vsmanager's before it started.
        expect(page.locator("#chart-memory .spark-value")).to_contain_text("MiB")
