"""The backups panel: an admin backs up while the game writes, sees it verified, restores it
by typing the world's name."""

from __future__ import annotations

from pathlib import Path

import pytest
from console_page import open_page, sign_in_admin
from playwright.sync_api import Browser, expect

from harness import TIME_SCALE, run_vsmanager, simulator_command

pytestmark = pytest.mark.e2e


def test_admin_backs_up_sees_it_verified_and_restores_it(browser: Browser, tmp_path: Path) -> None:
    command = simulator_command("--dataPath", str(tmp_path / "data"), "--writes-per-second", "100")
    with run_vsmanager(command, backup_dir=tmp_path / "backups") as vsm:
        vsm.wait_for_state("running")
        with open_page(browser, vsm.url) as page:
            sign_in_admin(page)
            page.click("#backup-create")
            row = page.locator(".backup").first
            expect(row).to_contain_text("✔ verified", timeout=60_000 * TIME_SCALE)
            expect(row).to_contain_text("by admin")
            restore = row.get_by_role("button", name="Restore")
            dialog, typed = page.locator("#confirm"), page.locator("#confirm-typed")
            confirm = dialog.get_by_role("button", name="Restore")
            restore.click()  # Escape cancels: nothing is restored
            expect(dialog).to_be_visible()
            expect(typed).to_be_focused()
            expect(confirm).to_be_disabled()
            page.keyboard.press("Escape")
            expect(dialog).to_be_hidden()
            with vsm.client() as client:
                assert client.get(f"/backups/{row.get_attribute('data-id')}").json()["restore"] is None
            restore.click()  # only the world's exact name enables the button
            expect(dialog).to_contain_text("Type default to confirm")
            typed.fill("defaul")
            expect(confirm).to_be_disabled()
            typed.press("Enter")  # Enter with the wrong name does not confirm
            expect(dialog).to_be_visible()
            typed.fill("default")
            expect(confirm).to_be_enabled()
            confirm.click()
            expect(page.locator("#backup-progress")).to_contain_text(": done", timeout=60_000 * TIME_SCALE)
            expect(page.locator(".backup")).to_have_count(2)  # the pre-restore backup beside it
            vsm.wait_for_state("running")
