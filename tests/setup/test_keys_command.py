"""``vsmanager keys add|list|remove``: prints a key once, stores only its hash, 0600."""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path

import pytest

from vsmanager.access.keys import hash_key, read_keys_file
from vsmanager.access.roles import Role
from vsmanager.cli import main


@pytest.fixture
def keys_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in [n for n in os.environ if n.startswith("VS_")]:
        monkeypatch.delenv(name)
    path = tmp_path / "vsmanager-keys"
    monkeypatch.setenv("VS_KEYS_FILE", str(path))
    monkeypatch.setenv("VS_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    return path


def add(name: str, role: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["keys", "add", name, "--role", role]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    return out.strip()


def test_add_prints_the_key_once_and_stores_its_hash(keys_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    key = add("alice", "admin", capsys)
    assert len(key) >= 32
    (record,) = read_keys_file(keys_path)
    assert (record.name, record.role, record.digest) == ("alice", Role.ADMIN, hash_key(key))
    assert key not in keys_path.read_text()
    assert stat.S_IMODE(keys_path.stat().st_mode) == 0o600


def test_list_shows_names_roles_and_times_not_hashes(keys_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    add("alice", "admin", capsys)
    add("bob", "monitor", capsys)
    assert main(["keys", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in listed] == [["alice", "admin"], ["bob", "monitor"]]
    assert main(["keys", "list", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [e["name"] for e in entries] == ["alice", "bob"] and "sha256" not in entries[0]


def test_remove_takes_the_key_out(keys_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add("alice", "admin", capsys)
    add("bob", "monitor", capsys)
    assert main(["keys", "remove", "alice"]) == 0
    assert [r.name for r in read_keys_file(keys_path)] == ["bob"]
    assert main(["keys", "remove", "alice"]) == 1
    assert "no key named 'alice'" in capsys.readouterr().err


def test_key_changes_go_to_the_audit_log(keys_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = add("alice", "admin", capsys)
    main(["keys", "remove", "alice"])
    audit = keys_path.parent / "audit.jsonl"
    entries = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(e["action"], e["name"], e["role"]) for e in entries] == [
        ("key_added", "alice", "admin"), ("key_removed", "alice", "admin")]
    assert key not in audit.read_text()
    assert stat.S_IMODE(audit.stat().st_mode) == 0o600


@pytest.mark.parametrize("name", ["admin", "monitor", "bad name", ""],
                         ids=["admin", "monitor", "space", "empty"])
def test_reserved_or_bad_names_are_refused(keys_path: Path, capsys: pytest.CaptureFixture[str],
                                           name: str) -> None:
    assert main(["keys", "add", name, "--role", "admin"]) == 2
    assert "key name" in capsys.readouterr().err
    assert not keys_path.exists()


def test_a_name_cannot_be_added_twice(keys_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add("alice", "admin", capsys)
    assert main(["keys", "add", "alice", "--role", "monitor"]) == 2
    assert "exists" in capsys.readouterr().err


def test_a_key_from_stdin_is_checked_and_not_printed(
    keys_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a" * 20 + "\n"))
    assert main(["keys", "add", "alice", "--role", "admin", "--stdin"]) == 2
    assert "too weak" in capsys.readouterr().err
    chosen = "chosen-key-0123456789abcdef"
    monkeypatch.setattr("sys.stdin", io.StringIO(f"  {chosen}  \n"))
    assert main(["keys", "add", "alice", "--role", "admin", "--stdin"]) == 0
    assert chosen not in capsys.readouterr().out
    assert read_keys_file(keys_path)[0].digest == hash_key(chosen)


def test_without_a_keys_file_setting_the_command_says_what_to_set(
    keys_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VS_KEYS_FILE")
    assert main(["keys", "list"]) == 2
    assert "VS_KEYS_FILE" in capsys.readouterr().err


def test_file_option_overrides_the_setting(keys_path: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.json"
    assert main(["keys", "--file", str(other), "add", "carol", "--role", "monitor"]) == 0
    assert [r.name for r in read_keys_file(other)] == ["carol"] and not keys_path.exists()
