"""validate_command: exactly one safe line reaches the game's stdin, or none."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vsmanager.console.commands import InvalidCommand, validate_command

PROPERTY = settings(max_examples=500, deadline=None, database=None)
MAX = 1000

C0 = [chr(c) for c in range(0x00, 0x20)]
C1 = [chr(c) for c in range(0x80, 0xA0)]


def control_id(char: str) -> str:
    return f"U+{ord(char):04X}"


# -- accepted -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    ["/help", "/announce Hello everyone", "x", "/list clients", "  /time  "],
    ids=["help", "with-spaces", "one-char", "two-words", "padded"],
)
def test_plain_command_is_accepted_unchanged(command: str) -> None:
    assert validate_command(command, MAX) == command


@pytest.mark.parametrize(
    "command",
    ["/announce Café ouvert", "/announce 🎉 party", "/announce 日本語", "/announce Ωμέγα"],
    ids=["accents", "emoji", "cjk", "greek"],
)
def test_unicode_command_is_accepted(command: str) -> None:
    assert validate_command(command, MAX) == command


def test_command_of_exactly_the_limit_is_accepted() -> None:
    assert validate_command("a" * MAX, MAX) == "a" * MAX


def test_limit_counts_characters_not_bytes() -> None:
    assert validate_command("😀" * MAX, MAX) == "😀" * MAX


def test_character_after_c1_range_is_accepted() -> None:
    assert validate_command("/say \u00a0\u00e9", MAX) == "/say \u00a0\u00e9"


# -- refused ------------------------------------------------------------------------------


def test_empty_command_is_refused() -> None:
    with pytest.raises(InvalidCommand, match="empty or blank"):
        validate_command("", MAX)


@pytest.mark.parametrize(
    "blank", [" ", "   ", "\u00a0", "\u3000"], ids=["space", "spaces", "nbsp", "ideographic"]
)
def test_blank_command_is_refused(blank: str) -> None:
    with pytest.raises(InvalidCommand, match="empty or blank"):
        validate_command(blank, MAX)


def test_command_over_the_limit_is_refused() -> None:
    with pytest.raises(InvalidCommand, match="1001 characters; the limit is 1000"):
        validate_command("a" * (MAX + 1), MAX)


def test_smaller_configured_limit_is_enforced() -> None:
    with pytest.raises(InvalidCommand, match="limit is 10"):
        validate_command("/announce hi", 10)


@pytest.mark.parametrize("char", C0, ids=control_id)
def test_c0_control_character_is_refused(char: str) -> None:
    with pytest.raises(InvalidCommand, match=f"U\\+{ord(char):04X}"):
        validate_command(f"/help{char}x", MAX)


def test_del_is_refused() -> None:
    with pytest.raises(InvalidCommand, match="U\\+007F"):
        validate_command("/help\x7f", MAX)


@pytest.mark.parametrize("char", C1, ids=control_id)
def test_c1_control_character_is_refused(char: str) -> None:
    with pytest.raises(InvalidCommand, match=f"U\\+{ord(char):04X}"):
        validate_command(f"/help{char}", MAX)


def test_newline_cannot_smuggle_a_second_command() -> None:
    with pytest.raises(InvalidCommand, match="exactly one line"):
        validate_command("/help\n/stop", MAX)


@pytest.mark.parametrize("ending", ["\n", "\r", "\r\n"], ids=["lf", "cr", "crlf"])
def test_trailing_line_end_is_refused(ending: str) -> None:
    with pytest.raises(InvalidCommand):
        validate_command("/help" + ending, MAX)


def test_control_character_position_is_reported() -> None:
    with pytest.raises(InvalidCommand, match="at position 3"):
        validate_command("/he\tlp", MAX)


@pytest.mark.parametrize("surrogate", ["\ud800", "\udfff", "\ud83d"], ids=control_id)
def test_unpaired_surrogate_is_refused(surrogate: str) -> None:
    with pytest.raises(InvalidCommand, match="surrogate"):
        validate_command(f"/say {surrogate}", MAX)


@pytest.mark.parametrize("value", [None, 42, b"/help", ["/help"], {"command": "/help"}], ids=repr)
def test_non_string_command_is_refused(value: object) -> None:
    with pytest.raises(InvalidCommand, match="must be a string"):
        validate_command(value, MAX)


def test_invalid_command_is_a_value_error() -> None:
    assert issubclass(InvalidCommand, ValueError)


# -- properties ---------------------------------------------------------------------------


@PROPERTY
@given(command=st.text(max_size=60) | st.text(alphabet="\n\r\t /ab\x85\u2028", max_size=10))
def test_validated_command_is_one_line_of_safe_characters(command: str) -> None:
    try:
        accepted = validate_command(command, MAX)
    except InvalidCommand:
        return
    assert accepted == command
    assert "\n" not in accepted and "\r" not in accepted
    assert 1 <= len(accepted) <= MAX and accepted.strip()
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in accepted)
    accepted.encode("utf-8")  # no lone surrogate


@PROPERTY
@given(
    text=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1),
    max_chars=st.integers(1, 50),
)
def test_printable_text_within_the_limit_is_accepted(text: str, max_chars: int) -> None:
    if not text.strip() or len(text) > max_chars:
        with pytest.raises(InvalidCommand):
            validate_command(text, max_chars)
    else:
        assert validate_command(text, max_chars) == text
