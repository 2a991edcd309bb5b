"""Console commands: what may be written to the game's stdin. Pure."""

from __future__ import annotations

import re

# C0 (including tab, CR and LF), DEL and C1: any of them could end the line early, start a
# second command or confuse the game's console reader.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class InvalidCommand(ValueError):
    """A command that must not reach the game; the message says why."""


class CommandRefused(Exception):
    """A valid command not taken now (e.g. ``rate_limited``); ``code`` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def validate_command(command: object, max_chars: int) -> str:
    if not isinstance(command, str):
        raise InvalidCommand("command must be a string")
    if not command.strip():
        raise InvalidCommand("command must not be empty or blank")
    if len(command) > max_chars:
        raise InvalidCommand(f"command is {len(command)} characters; the limit is {max_chars}")
    bad = _CONTROL.search(command)
    if bad:
        raise InvalidCommand(
            f"command contains control character U+{ord(bad.group()):04X} at position "
            f"{bad.start()}; one request sends exactly one line"
        )
    if any(0xD800 <= ord(c) <= 0xDFFF for c in command):
        raise InvalidCommand("command contains an unpaired surrogate")
    return command
