"""KeyRing: which identity a key belongs to (environment and keys file); no input can make
it raise; a reload names what it revoked."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vsmanager.access.auth import Identity, KeyRing, Role, allows
from vsmanager.access.keys import KeyRecord, KeysFileError, hash_key, new_record, write_keys_file
from vsmanager.config.settings import load_settings

PROPERTY = settings(max_examples=300, deadline=None, database=None)
ADMIN_KEY = "admin-key-0123456789abcdef"
MONITOR_KEY = "monitor-key-0123456789abcdef"


@pytest.fixture
def keyring() -> KeyRing:
    return KeyRing(load_settings(api_key_admin=ADMIN_KEY, api_key_monitor=MONITOR_KEY))


def test_admin_key_grants_admin(keyring: KeyRing) -> None:
    assert keyring.role_for(ADMIN_KEY) is Role.ADMIN


def test_monitor_key_grants_monitor(keyring: KeyRing) -> None:
    assert keyring.role_for(MONITOR_KEY) is Role.MONITOR


@pytest.mark.parametrize(
    "key",
    [
        "not-a-key-at-all-really",
        ADMIN_KEY[:-1],
        ADMIN_KEY + "x",
        ADMIN_KEY.upper(),
        " " + ADMIN_KEY,
        ADMIN_KEY + "\n",
    ],
    ids=["unknown", "prefix", "longer", "uppercase", "leading-space", "trailing-newline"],
)
def test_unknown_key_grants_nothing(keyring: KeyRing, key: str) -> None:
    assert keyring.role_for(key) is None


def test_empty_key_grants_nothing(keyring: KeyRing) -> None:
    assert keyring.role_for("") is None


def test_missing_key_grants_nothing(keyring: KeyRing) -> None:
    assert keyring.role_for(None) is None


@pytest.mark.parametrize(
    "key",
    [
        "clé-secrète-éàü-0123",
        "ключ-ключ-ключ-ключ",
        "🔑" * 20,
        "\x00" * 20,
        "\udcff" * 20,
        "\ud800",
    ],
    ids=["latin", "cyrillic", "emoji", "nul", "lone-low-surrogates", "lone-high-surrogate"],
)
def test_odd_key_grants_nothing_and_never_raises(keyring: KeyRing, key: str) -> None:
    assert keyring.role_for(key) is None


def test_latin1_decoded_header_of_a_utf8_key_does_not_match() -> None:
    ring = KeyRing(load_settings(api_key_admin=ADMIN_KEY))
    # An HTTP header arrives decoded as latin-1: UTF-8 bytes become other characters.
    assert ring.role_for((ADMIN_KEY + "é").encode().decode("latin-1")) is None


def test_without_monitor_key_only_admin_matches() -> None:
    ring = KeyRing(load_settings(api_key_admin=ADMIN_KEY))
    assert ring.role_for(ADMIN_KEY) is Role.ADMIN
    assert ring.role_for(MONITOR_KEY) is None


def test_without_any_key_nothing_matches() -> None:
    ring = KeyRing(load_settings())
    assert ring.role_for(ADMIN_KEY) is None
    assert ring.role_for("") is None


def test_admin_is_allowed_everything() -> None:
    assert allows(Role.ADMIN, Role.ADMIN) and allows(Role.ADMIN, Role.MONITOR)


def test_monitor_is_allowed_only_monitor() -> None:
    assert allows(Role.MONITOR, Role.MONITOR)
    assert not allows(Role.MONITOR, Role.ADMIN)


@PROPERTY
@given(key=st.text() | st.none() | st.text(alphabet=st.characters(categories=["Cs"])))
def test_any_string_either_matches_exactly_or_grants_nothing(key: str | None) -> None:
    ring = KeyRing(load_settings(api_key_admin=ADMIN_KEY, api_key_monitor=MONITOR_KEY))
    expected = {ADMIN_KEY: Role.ADMIN, MONITOR_KEY: Role.MONITOR}.get(key or "")
    assert ring.role_for(key) is expected


# -- named keys -------------------------------------------------------------------------------

ALICE_KEY = "alice-key-0123456789abcdef"
BOB_KEY = "bob-key-0123456789abcdefgh"


def records(*entries: tuple[str, Role, str]) -> list[KeyRecord]:
    return [new_record(name, role, key) for name, role, key in entries]


def test_environment_keys_are_named_admin_and_monitor(keyring: KeyRing) -> None:
    assert keyring.identify(ADMIN_KEY) == Identity("admin", Role.ADMIN)
    assert keyring.identify(MONITOR_KEY) == Identity("monitor", Role.MONITOR)


def test_file_keys_identify_by_name_and_role() -> None:
    ring = KeyRing(load_settings(api_key_admin=ADMIN_KEY),
                   records(("alice", Role.ADMIN, ALICE_KEY), ("bob", Role.MONITOR, BOB_KEY)))
    assert ring.identify(ALICE_KEY) == Identity("alice", Role.ADMIN)
    assert ring.identify(BOB_KEY) == Identity("bob", Role.MONITOR)
    assert ring.identify(ADMIN_KEY) == Identity("admin", Role.ADMIN)


def test_keys_file_is_read_from_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "keys"  # no extension: the format does not depend on it
    write_keys_file(path, records(("alice", Role.ADMIN, ALICE_KEY)))
    ring = KeyRing(load_settings(keys_file=str(path)))
    assert ring.identify(ALICE_KEY) == Identity("alice", Role.ADMIN)


def test_missing_keys_file_holds_no_keys(tmp_path: Path) -> None:
    ring = KeyRing(load_settings(keys_file=str(tmp_path / "absent.json")))
    assert ring.identify(ALICE_KEY) is None and ring.names == {}


def test_reload_names_added_and_revoked_keys(tmp_path: Path) -> None:
    path = tmp_path / "keys.toml"  # a misleading extension changes nothing
    write_keys_file(path, records(("alice", Role.ADMIN, ALICE_KEY), ("bob", Role.MONITOR, BOB_KEY)))
    ring = KeyRing(load_settings(keys_file=str(path)))
    carol = "carol-key-0123456789abcdef"
    write_keys_file(path, records(("bob", Role.MONITOR, BOB_KEY), ("carol", Role.ADMIN, carol)))
    assert ring.reload() == ({"carol"}, {"alice"})
    assert ring.identify(ALICE_KEY) is None
    assert ring.identify(carol) == Identity("carol", Role.ADMIN)


@pytest.mark.parametrize(
    "change",
    [("bob", Role.ADMIN, BOB_KEY), ("bob", Role.MONITOR, "bob-new-key-0123456789abc")],
    ids=["role-changed", "key-rotated"],
)
def test_a_changed_role_or_key_revokes_the_name(change: tuple[str, Role, str]) -> None:
    ring = KeyRing(load_settings(), records(("bob", Role.MONITOR, BOB_KEY)))
    assert ring.replace(records(change)) == (set(), {"bob"})


def test_a_bad_file_raises_and_keeps_the_old_keys(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    write_keys_file(path, records(("alice", Role.ADMIN, ALICE_KEY)))
    ring = KeyRing(load_settings(keys_file=str(path)))
    path.write_text("{ not json")
    with pytest.raises(KeysFileError, match="not valid JSON"):
        ring.reload()
    assert ring.identify(ALICE_KEY) == Identity("alice", Role.ADMIN)


def test_a_file_key_cannot_take_an_environment_name() -> None:
    bad = KeyRecord("admin", Role.ADMIN, "", hash_key(ALICE_KEY))  # written by hand
    ring = KeyRing(load_settings(api_key_admin=ADMIN_KEY), [bad])
    assert ring.identify(ALICE_KEY) is None


@PROPERTY
@given(key=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=16))
def test_any_printable_key_matches_only_itself(key: str) -> None:
    ring = KeyRing(load_settings(), records(("alice", Role.ADMIN, ALICE_KEY)))
    assert (ring.identify(key) is not None) is (key == ALICE_KEY)
