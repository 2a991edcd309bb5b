"""A hostile game, running as vsmanager's user, finds nothing it can use: not the config,
the key files, the keys file or the audit log (read or write), nor vsmanager's environment."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from harness import ADMIN_KEY, MONITOR_KEY, VsManager, run_vsmanager, script_command
from vsmanager.game.confinement import READ, READ_WRITE, plan_rules, vsmanager_code
from vsmanager.game.exec_shim import abi_version

pytestmark = pytest.mark.skipif(abi_version() == 0, reason="the kernel has no Landlock")

SECRETS = ("config", "api_key_admin_file", "api_key_monitor_file", "keys_file", "audit_log")


def _layout(root: Path) -> tuple[Path, Path]:
    """The documented layout: /etc/vsmanager beside /srv/vintagestory(-data)."""
    etc = root / "etc" / "vsmanager"
    etc.mkdir(parents=True)
    (etc / "admin.key").write_text(ADMIN_KEY + "\n")
    (etc / "monitor.key").write_text(MONITOR_KEY + "\n")
    alice = hashlib.sha256(b"alice-key-for-the-thief-test-0123").hexdigest()
    (etc / "keys.json").write_text(json.dumps({"version": 1, "keys": [
        {"name": "alice", "role": "admin", "created": "2026-12-01T22:00:00Z", "sha256": alice}]}))
    for name in ("admin.key", "monitor.key", "keys.json"):
        (etc / name).chmod(0o600)
    config = etc / "vsmanager.toml"
    config.write_text('api_key_admin_file = "admin.key"\napi_key_monitor_file = "monitor.key"\n'
                      'keys_file = "keys.json"\naudit_log = "audit.jsonl"\n')
    workdir = root / "srv" / "vintagestory"
    workdir.mkdir(parents=True)
    return config, workdir


def _thief_report(vsm: VsManager) -> list[str]:
    vsm.wait_for_line("THIEF DONE")
    return [line["text"] for line in vsm.history(lines=1000)["lines"]  # type: ignore[union-attr]
            if str(line["text"]).startswith("THIEF")]  # type: ignore[index]


def _run_thief(tmp_path: Path, **settings: object) -> tuple[list[str], Path]:
    config, workdir = _layout(tmp_path)
    etc = config.parent
    guesses = [str(etc / name) for name in ("admin.key", "monitor.key", "keys.json", "audit.jsonl")]
    keys_before = (etc / "keys.json").read_bytes()
    with run_vsmanager(script_command("secret_thief.py", *guesses), unprivileged=True,
                       server_ready_pattern="", api_key_admin="", api_key_monitor="",
                       server_workdir=workdir, extra_args=["--config", str(config)], **settings) as vsm:
        report = _thief_report(vsm)
    assert (etc / "keys.json").read_bytes() == keys_before or settings.get("game_confine") == "false"
    return report, etc


def test_a_confined_game_finds_nothing_it_can_use(tmp_path: Path) -> None:
    report, etc = _run_thief(tmp_path)
    text = "\n".join(report)
    assert "THIEF ENV []" in report, text
    assert re.search(r"THIEF environ \S+ DENIED", text), text
    assert re.search(r"THIEF mem \S+ DENIED", text), text
    # It can learn where the config is (cmdline is world-readable), and nothing more.
    assert re.search(r"THIEF config \S+ DENIED", text), text
    attempts = [line for line in report if str(etc) in line]
    assert len(attempts) >= 2 * 4 + 1, text  # read and write of each guessed file, and a new one
    assert not [line for line in attempts if "READ" in line or "WROTE" in line], text
    # ...while its own folder stays writable.
    assert [line for line in report if line.startswith("THIEF own-write") and "WROTE" in line], text


def test_unconfined_the_same_game_becomes_an_admin(tmp_path: Path) -> None:
    # The control: without confinement the game reads the config and the admin key, and
    # could append to the keys file. So the test above fails if confinement stops working.
    report, _ = _run_thief(tmp_path, game_confine="false")
    text = "\n".join(report)
    assert re.search(r"THIEF config \S+ READ", text), text
    assert re.search(r"THIEF api_key_admin_file \S+ READ", text), text
    assert re.search(r"THIEF keys_file-write \S+ WROTE", text), text


def test_a_folder_holding_a_secret_is_allowed_entry_by_entry(tmp_path: Path) -> None:
    game = tmp_path / "srv" / "game"
    (game / "Mods").mkdir(parents=True)
    (game / "server.dll").write_text("")
    (game / "admin.key").write_text("x")
    rules = dict(plan_rules([], None, [game / "admin.key", tmp_path / "srv" / "keys.json"],
                            writable=[tmp_path / "srv"]))
    assert str(tmp_path / "srv") not in rules and str(game) not in rules
    assert rules[str(game / "Mods")] == READ_WRITE and rules[str(game / "server.dll")] == READ_WRITE
    assert str(game / "admin.key") not in rules
    assert not [path for path in rules if path.endswith("keys.json")]


def test_vsmanagers_own_code_is_readable_never_writable(tmp_path: Path) -> None:
    code = vsmanager_code()[0]
    rules = dict(plan_rules([], None, [], writable=[code.parent]))
    assert rules[str(code)] == READ
    assert all(rights == READ for path, rights in rules.items() if Path(path) in code.parents or
               code in Path(path).parents)


def test_a_symbolic_link_to_a_secret_gets_no_rule(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "admin.key").write_text("x")
    (tmp_path / "game").mkdir()
    (tmp_path / "game" / "key-link").symlink_to(tmp_path / "etc" / "admin.key")
    (tmp_path / "game" / "loop").symlink_to(tmp_path / "game")
    rules = dict(plan_rules([], None, [tmp_path / "etc" / "admin.key"], writable=[tmp_path / "game"]))
    assert str(tmp_path / "game") in rules
    assert not [path for path in rules if path.endswith("admin.key") or path.endswith("key-link")]


def test_a_link_in_a_folder_allowed_entry_by_entry_grants_nothing(tmp_path: Path) -> None:
    # The game could plant such a link in its own folder, to widen its rules at the next start.
    game = tmp_path / "game"
    game.mkdir()
    (game / "admin.key").write_text("x")
    system = Path("/usr/share").resolve()
    (game / "link").symlink_to(system)
    rules = dict(plan_rules([], None, [game / "admin.key"], writable=[game]))
    assert str(system) not in rules and str(game / "link") not in rules  # /usr/share stays read-only
    assert rules[str(Path("/usr").resolve())] == READ
