"""KeyRing.role_for: which role a key grants; no input can make it raise."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vsmanager.auth import KeyRing, Role, allows
from vsmanager.settings import load_settings

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
    key = "clé-secrète-0123456789"
    ring = KeyRing(load_settings(api_key_admin=key))
    assert ring.role_for(key) is Role.ADMIN
    # An HTTP header arrives decoded as latin-1: the UTF-8 bytes become other characters.
    assert ring.role_for(key.encode().decode("latin-1")) is None


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
