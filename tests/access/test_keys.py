"""Key rules and the keys file: weak keys refused, only hashes stored, any bad file named."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vsmanager.access.keys import (
    KeysFileError,
    dump_keys,
    generate_key,
    hash_key,
    new_record,
    parse_keys,
    read_keys_file,
    write_keys_file,
)
from vsmanager.access.roles import Role
from vsmanager.config.settings import SettingsError, load_settings
from vsmanager.config.values import MIN_DISTINCT_CHARACTERS, MIN_KEY_LENGTH, weak_key_reason

PROPERTY = settings(max_examples=300, deadline=None, database=None)
GOOD_KEY = "alice-key-0123456789abcdef"


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("a" * 16, "different characters"),
        ("abababababababab", "different characters"),
        ("abcdefg" * 4, "different characters"),
        ("abcdefgh01234", "at least 16"),
        ("abcdefgh 01234567", "whitespace"),
        ("abcdefgh\t01234567", "whitespace"),
        ("abcdéfgh01234567", "ASCII"),
        ("abcdefgh\x0001234567", "ASCII"),
    ],
    ids=["one-char", "two-chars", "seven-chars", "short", "space", "tab", "non-ascii", "nul"],
)
def test_weak_or_malformed_keys_are_refused(key: str, why: str) -> None:
    reason = weak_key_reason(key)
    assert reason is not None and why in reason
    assert key not in reason


def test_a_key_of_16_characters_with_8_distinct_is_accepted() -> None:
    assert weak_key_reason("abcdefgh" * 2) is None


def test_generated_keys_pass_the_check() -> None:
    assert all(weak_key_reason(generate_key()) is None for _ in range(200))


@PROPERTY
@given(key=st.text(max_size=40))
def test_the_check_accepts_exactly_long_varied_printable_ascii(key: str) -> None:
    expected = (len(key) >= MIN_KEY_LENGTH and len(set(key)) >= MIN_DISTINCT_CHARACTERS
                and all(0x21 <= ord(c) <= 0x7E for c in key))
    assert (weak_key_reason(key) is None) is expected


@pytest.mark.parametrize("variable", ["VS_API_KEY_ADMIN", "VS_API_KEY_MONITOR"])
def test_settings_refuse_a_weak_key_by_name(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "a" * 16)
    with pytest.raises(SettingsError, match=f"{variable}: is too weak") as caught:
        load_settings()
    assert "a" * 16 not in str(caught.value)


def test_the_file_holds_the_hash_never_the_key(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    write_keys_file(path, [new_record("alice", Role.ADMIN, GOOD_KEY)])
    text = path.read_text()
    assert GOOD_KEY not in text
    entry = json.loads(text)["keys"][0]
    assert entry["sha256"] == hash_key(GOOD_KEY).hex()
    assert entry["name"] == "alice" and entry["role"] == "admin"
    assert entry["created"].endswith("Z")


def test_the_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    old = os.umask(0)
    try:
        write_keys_file(path, [new_record("alice", Role.ADMIN, GOOD_KEY)])
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_weak_key_is_refused_for_the_file() -> None:
    with pytest.raises(KeysFileError, match="too weak"):
        new_record("alice", Role.ADMIN, "a" * 16)


@pytest.mark.parametrize("name", ["admin", "monitor", "", "-x", "a b", "x" * 65, "ä"],
                         ids=["admin", "monitor", "empty", "dash-first", "space", "long", "non-ascii"])
def test_bad_or_reserved_names_are_refused(name: str) -> None:
    with pytest.raises(KeysFileError):
        new_record(name, Role.ADMIN, GOOD_KEY)


def test_records_survive_a_round_trip() -> None:
    records = [new_record("alice", Role.ADMIN, GOOD_KEY), new_record("bob", Role.MONITOR, GOOD_KEY[::-1])]
    assert parse_keys(dump_keys(records), "x") == records


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("[]", "version"),
        ('{"version": 2, "keys": []}', "version"),
        ('{"version": 1, "keys": {}}', "must be a list"),
        ('{"version": 1, "keys": [1]}', "must be an object"),
        ('{"version": 1, "keys": [{"name": "a", "role": "root", "sha256": "' + "0" * 64 + '"}]}', "role"),
        ('{"version": 1, "keys": [{"name": "a", "role": "admin", "sha256": "xyz"}]}', "sha256"),
        ('{"version": 1, "keys": [{"name": "a", "role": "admin", "sha256": "' + "0" * 64 + '"},'
         '{"name": "a", "role": "admin", "sha256": "' + "1" * 64 + '"}]}', "twice"),
    ],
    ids=["not-object", "version", "keys-not-list", "entry-not-object", "role", "digest", "duplicate"],
)
def test_bad_files_are_refused_naming_the_file(text: str, why: str) -> None:
    with pytest.raises(KeysFileError, match=why) as caught:
        parse_keys(text, "/etc/vsmanager/keys.json")
    assert "/etc/vsmanager/keys.json" in str(caught.value)


@PROPERTY
@given(text=st.text(max_size=200))
def test_any_text_parses_or_raises_keys_file_error(text: str) -> None:
    try:
        parse_keys(text, "f")
    except KeysFileError:
        pass


def test_a_missing_file_holds_no_keys(tmp_path: Path) -> None:
    assert read_keys_file(tmp_path / "nothing") == []
