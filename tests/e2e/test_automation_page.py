"""The schedules panel, the countdown banner and the notification targets on the page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from console_page import open_page, sign_in, sign_in_admin
from playwright.sync_api import Browser, expect

from harness import MONITOR_KEY, run_vsmanager, simulator_command
from webhook_receiver import run_receiver

pytestmark = pytest.mark.e2e
QUIET = ("--event-interval", "3600")


def test_an_admin_adds_a_nightly_restart_with_its_next_times_previewed(browser: Browser,
                                                                      tmp_path: Path) -> None:
    path = tmp_path / "schedules.toml"
    with run_vsmanager(simulator_command(*QUIET), schedules_file=path) as vsm, \
            open_page(browser, vsm.url) as page:
        sign_in_admin(page)
        page.click("#automation summary")
        form = page.locator("#schedule-form")
        form.locator("[name=name]").fill("nightly")
        form.locator("[name=time]").fill("0 4 * * *")
        form.locator("[name=timezone]").fill("Europe/Berlin")
        form.locator("[name=warn]").fill("15m, 5m, 1m")
        form.locator("[name=when_players]").select_option("wait")
        form.locator("[name=max_wait]").fill("1h")
        preview = page.locator("#schedule-preview")
        expect(preview).to_contain_text("Next: ")
        form.locator("[name=time]").fill("0 4 * *")
        expect(preview).to_contain_text("five fields")
        form.locator("[name=time]").fill("0 4 * * *")
        expect(preview).to_contain_text("Next: ")
        form.locator("button[type=submit]").click()
        row = page.locator("tr[data-schedule=nightly]")
        expect(row).to_contain_text("cron 0 4 * * * (Europe/Berlin)")
        assert 'name = "nightly"' in path.read_text()
        row.locator("button", has_text="Pause").click()
        expect(row).to_contain_text("paused")
        assert "paused = true" in path.read_text()
        row.locator("button", has_text="Resume").click()
        expect(row.locator("button", has_text="Pause")).to_be_visible()


def test_the_countdown_banner_skips_and_acts_now(browser: Browser, tmp_path: Path) -> None:
    path = tmp_path / "schedules.json"
    path.write_text(json.dumps({"schedules": [
        {"name": "nightly", "every": "2m", "action": "restart", "warn": ["110s"]}]}))
    with run_vsmanager(simulator_command(*QUIET), schedules_file=path) as vsm, \
            open_page(browser, vsm.url) as page:
        sign_in_admin(page)
        banner = page.locator("#countdown-banner")
        expect(banner).to_be_visible(timeout=30_000)
        expect(page.locator("#countdown-text")).to_contain_text("Restart in 1:")
        page.click("#countdown-now")
        expect(page.locator("#server-detail")).to_contain_text("1 restart", timeout=30_000)
        expect(banner).to_be_hidden()
        page.click("#automation summary")
        expect(page.locator("tr[data-schedule=nightly]")).to_contain_text("ok")


def test_targets_show_their_last_delivery_and_a_test_button(browser: Browser, tmp_path: Path) -> None:
    with run_receiver() as receiver:
        path = tmp_path / "notifications.json"
        path.write_text(json.dumps({"notifications": [
            {"name": "discord", "kind": "discord", "url": receiver.url("/api/webhooks/1/secret-tok")}]}))
        with run_vsmanager(simulator_command(*QUIET), notifications_file=path) as vsm, \
                open_page(browser, vsm.url) as page:
            sign_in_admin(page)
            page.click("#automation summary")
            target = page.locator("li[data-target=discord]")
            expect(target).to_contain_text("never sent")
            expect(target).not_to_contain_text("secret-tok")
            target.locator("button", has_text="Test").click()
            expect(target).to_contain_text("test delivered", timeout=20_000)
            receiver.wait("/api/webhooks/1/secret-tok")


def test_a_monitor_reads_schedules_but_has_no_buttons(browser: Browser, tmp_path: Path) -> None:
    path = tmp_path / "schedules.json"
    path.write_text(json.dumps({"schedules": [{"name": "save", "every": "1h", "action": "command",
                                               "commands": ["/autosavenow"]}]}))
    with run_vsmanager(simulator_command(*QUIET), schedules_file=path) as vsm, \
            open_page(browser, vsm.url) as page:
        sign_in(page, MONITOR_KEY)
        page.click("#automation summary")
        row = page.locator("tr[data-schedule=save]")
        expect(row).to_contain_text("every 1h")
        expect(row.locator("button")).to_have_count(0)
        expect(page.locator("#schedule-form")).to_be_hidden()
