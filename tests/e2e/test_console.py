"""The live console: lines, commands, search, download, timestamps, completion."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from console_page import (
    buffer_text,
    echo_pattern,
    hook,
    open_page,
    send_command,
    sign_in_admin,
    wait_for_echo,
    wait_for_seq,
    wait_for_text,
)
from playwright.sync_api import Browser, Page, expect

from harness import VsManager, run_vsmanager, simulator_command

pytestmark = pytest.mark.e2e

MAGENTA = 5  # palette index of [CMD] lines (web/src/render.ts)


@pytest.fixture(scope="module")
def chatty_vsm() -> Iterator[VsManager]:
    """The simulator with a steady trickle of events, so there are always live lines."""
    with run_vsmanager(simulator_command("--events-per-second", "5")) as manager:
        manager.wait_for_state("running")
        yield manager


@pytest.fixture
def page(browser: Browser, chatty_vsm: VsManager) -> Iterator[Page]:
    with open_page(browser, chatty_vsm.url) as page:
        sign_in_admin(page)
        yield page


def test_history_then_live_lines_appear(page: Page, chatty_vsm: VsManager) -> None:
    wait_for_text(page, "Dedicated Server now running")  # history from before we connected
    connected_at = chatty_vsm.history(lines=0)["last_seq"]
    assert isinstance(connected_at, int)
    wait_for_seq(page, connected_at + 10)
    seqs = hook(page, "keptSeqs")
    assert seqs == list(range(seqs[0], seqs[-1] + 1)), "lines lost or duplicated"
    newest = chatty_vsm.history(after=seqs[-1] - 1, limit=1)["lines"][0]  # type: ignore[index]
    assert any(newest["text"] in row for row in buffer_text(page))


def test_command_answer_appears_after_a_styled_cmd_line(page: Page) -> None:
    send_command(page, "/help")
    wait_for_text(page, "Available commands:")
    rows = buffer_text(page)
    cmd_row = next(i for i, row in enumerate(rows) if re.match(echo_pattern("/help"), row))
    answer_row = next(i for i, row in enumerate(rows) if "Available commands:" in row)
    assert cmd_row < answer_row
    mark = hook(page, "styleOf", rows[cmd_row])
    assert (mark["fgPalette"], mark["bold"], mark["inverse"]) == (MAGENTA, True, True)
    assert hook(page, "styleOf", "Available commands:")["fgPalette"] is None
    expect(page.locator("#command-input")).to_have_value("")


def test_history_keys_and_tab_completion(page: Page) -> None:
    send_command(page, "/time")
    wait_for_echo(page, "/time")
    field = page.locator("#command-input")
    field.press("ArrowUp")
    expect(field).to_have_value("/time")
    field.press("ArrowDown")
    expect(field).to_have_value("")
    field.fill("/autos")
    field.press("Tab")
    expect(field).to_have_value("/autosavenow")
    field.fill("/list c")
    field.press("Tab")
    expect(field).to_have_value("/list clients")
    expect(field).to_be_focused()  # Tab completed rather than moving the focus away
    stored = page.evaluate("JSON.parse(localStorage.getItem('vsmanager.commandHistory'))")
    assert stored[-1] == "/time"


def test_stop_command_asks_first(page: Page) -> None:
    send_command(page, "/stop")
    dialog = page.locator("#confirm")
    expect(dialog).to_be_visible()
    expect(page.locator("#confirm-cancel")).to_be_focused()
    page.click("#confirm-cancel")
    expect(dialog).to_be_hidden()
    send_command(page, "/stats")
    wait_for_echo(page, "/stats")
    assert not any(re.match(echo_pattern("/stop"), row) for row in buffer_text(page))


def test_search_finds_a_line(page: Page) -> None:
    wait_for_text(page, "Dedicated Server now running")
    page.locator("#terminal").click()
    page.keyboard.press("Control+f")
    expect(page.locator("#searchbar")).to_be_visible()
    expect(page.locator("#search-input")).to_be_focused()
    page.keyboard.type("now running on Port")
    expect(page.locator("#search-count")).to_have_text("1 of 1")
    page.fill("#search-input", "no such text anywhere")
    expect(page.locator("#search-count")).to_have_text("no matches")
    page.keyboard.press("Escape")
    expect(page.locator("#searchbar")).to_be_hidden()


def test_download_gives_the_whole_buffer(page: Page, chatty_vsm: VsManager) -> None:
    before = chatty_vsm.history(lines=10_000)["lines"]
    with page.expect_download() as info:
        page.click("#tool-download")
    download = info.value
    assert re.fullmatch(r"vsmanager-console-\d{8}-\d{6}\.log", download.suggested_filename)
    path = download.path()
    rows = path.read_text(encoding="utf-8").splitlines()
    after = chatty_vsm.history(lines=10_000)["lines"]
    assert isinstance(before, list) and isinstance(after, list)
    assert len(before) <= len(rows) <= len(after)
    prefix = {"stdout": "", "stderr": "[stderr] ", "system": "[vsmanager] "}

    def plain(line: dict[str, str]) -> str:
        by = f" {line['by']}" if line.get("by") else ""
        mark = f"[CMD{by}] " if line["stream"] == "command" else prefix[line["stream"]]
        return f"{line['ts']} {mark}{line['text']}"

    expected = [plain(line) for line in after]
    assert rows == expected[: len(rows)]
    expect(page.locator("#tool-message")).to_contain_text(f"Saved {len(rows):,} lines")


def test_timestamps_toggle_redraws_every_line(page: Page) -> None:
    wait_for_text(page, "Dedicated Server now running")
    page.click("#tool-timestamps")
    expect(page.locator("#tool-timestamps")).to_have_attribute("aria-pressed", "true")
    rows = buffer_text(page)
    assert all(re.match(r"\d\d:\d\d:\d\d ", row) for row in rows), rows[:3]
    page.click("#tool-timestamps")
    rows = buffer_text(page)
    assert not any(re.match(r"\d\d:\d\d:\d\d ", row) for row in rows), rows[:3]


def test_scrolling_up_stops_following_until_jump_to_latest(page: Page) -> None:
    page.wait_for_function("() => window.__vsmTest.bufferText().length > 80")
    jump = page.locator("#jump-latest")
    expect(jump).to_be_hidden()
    page.locator("#terminal").hover()
    page.mouse.wheel(0, -2000)
    expect(jump).to_be_visible()
    # New lines keep arriving, yet the view stays where the reader put it.
    top = page.evaluate("document.querySelector('#terminal .xterm-rows').innerText")
    page.wait_for_timeout(1500)
    assert page.evaluate("document.querySelector('#terminal .xterm-rows').innerText") == top
    jump.click()
    expect(jump).to_be_hidden()


def test_copy_puts_the_selection_on_the_clipboard(page: Page) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    wait_for_text(page, "Dedicated Server now running")
    page.locator("#terminal").click()
    page.keyboard.press("Control+f")
    page.keyboard.type("Dedicated Server now running")
    expect(page.locator("#search-count")).to_have_text("1 of 1")  # the match is selected
    page.click("#tool-copy")
    expect(page.locator("#tool-message")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == "Dedicated Server now running"


def test_refused_command_shows_the_servers_reason(page: Page) -> None:
    # A control character cannot be typed, but can be pasted; the server refuses it (422).
    send_command(page, "/announce ring\x07ring")
    hint = page.locator("#command-hint")
    expect(hint).to_contain_text("Refused:")
    expect(hint).to_contain_text("control character")
    wait_for_text(page, "was refused")
    rows = buffer_text(page)
    refusal = next(row for row in rows if "was refused" in row)
    assert "control character" in refusal
    assert not any(re.match(r"\[CMD[^\]]*\] /announce", row) for row in rows)
    refused = hook(page, "styleOf", "was refused")
    assert (refused["fgPalette"], refused["bold"]) == (1, True)
