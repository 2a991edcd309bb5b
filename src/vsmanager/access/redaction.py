"""Finding keys in text that is about to be written (a log line, an audit record), in any
encoding, and replacing them: the keys vsmanager holds (the environment's) and the keys it
knows only by their SHA-256 (the keys file's).

A held key is matched in every spelling a formatter or a URL can give it: each character as
itself, percent-encoded (once or more), JSON- or Python-escaped. A key known by its hash can
only be recognised by hashing what might be one: every run of key characters (letters,
digits and ``+/=_.~-``, which covers generated, base64, hex and UUID keys), cut at ``/``,
``=`` and ``.`` in every way, of key length, is hashed and looked up, in the text as it is,
percent-decoded and unescaped. Each key found is then removed in every spelling. The cost is
measured by ``bench/redaction.py`` (figures in docs/security.md).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Collection, Iterable
from urllib.parse import unquote_plus

from vsmanager.config.values import MIN_KEY_LENGTH

REDACTED = "[redacted]"
# Longer runs are not hashed: no generated key is near this, and the cost grows with it.
MAX_KEY_LENGTH = 128
# A run with more cut points than this is cut at "/" only (a long path, a dotted name).
MAX_CUTS = 16

_RUN = re.compile(rf"[A-Za-z0-9+/=_.~-]{{{MIN_KEY_LENGTH},}}")
_CUT = re.compile(r"[/=.]")
_ESCAPE = re.compile(r"\\(?:u00([0-9a-fA-F]{2})|x([0-9a-fA-F]{2})|(.))")
# Escaped at most this many times over (a JSON string inside a JSON string inside...).
MAX_DEPTH = 3

Digests = Callable[[], Collection[bytes]]


class KeyRedactor:
    """Removes ``held`` keys, and keys whose SHA-256 is among ``digests()`` (asked each time,
    so a reloaded keys file counts at once), from text."""

    def __init__(self, held: Iterable[str] = (), digests: Digests | None = None) -> None:
        self.held = sorted({k for k in held if k}, key=len, reverse=True)
        self._held_patterns = [spellings(key) for key in self.held]
        self.digests = digests

    def __call__(self, text: str) -> str:
        views = readings(text)
        # A key is in the text only if it is in one of its readings: a substring search
        # there spares the (slower) pattern of every spelling on most lines.
        for key, pattern in zip(self.held, self._held_patterns, strict=True):
            if any(key in view for view in views):
                text = pattern.sub(REDACTED, text)
        for key in self.hashed_keys_in(views):
            text = spellings(key).sub(REDACTED, text)
        return text

    def hashed_keys_in(self, views: list[str]) -> list[str]:
        """The keys known by their hash that the readings ``views`` of a text hold."""
        digests = self.digests() if self.digests is not None else ()
        if not digests:
            return []
        found = []
        seen: set[str] = set()
        for reading in views:
            for candidate in candidates(reading):
                if candidate in seen:
                    continue
                seen.add(candidate)
                if hashlib.sha256(candidate.encode()).digest() in digests:
                    found.append(candidate)
        return found


def readings(text: str) -> list[str]:
    """``text`` as it is, percent-decoded (until nothing changes), and each of those
    unescaped once, twice and three times."""
    views = [text]
    if "%" in text or "+" in text:
        decoded = text
        for _ in range(MAX_DEPTH):
            once = unquote_plus(decoded)
            if once == decoded:
                break
            decoded = once
            views.append(decoded)
    for view in list(views):
        for _ in range(MAX_DEPTH):
            if "\\" not in view:
                break
            view = _unescape(view)
            views.append(view)
    return views


def candidates(text: str) -> Iterable[str]:
    """Every stretch of a run of key characters that could be a key."""
    for run in _RUN.finditer(text):
        word = run[0]
        cuts = [m.start() for m in _CUT.finditer(word)]
        if len(cuts) > MAX_CUTS:
            cuts = [i for i in cuts if word[i] == "/"][:MAX_CUTS]
        starts = [0, *(i + 1 for i in cuts)]
        ends = [*cuts, len(word)]
        for start in starts:
            for end in ends:
                if MIN_KEY_LENGTH <= end - start <= MAX_KEY_LENGTH:
                    yield word[start:end]


@functools.lru_cache(maxsize=64)
def spellings(key: str) -> re.Pattern[str]:
    """A pattern matching ``key`` however it was written: each character as itself,
    percent-encoded any number of times, or escaped for JSON or Python (any depth)."""
    parts = []
    for char in key:
        code = f"{ord(char):02x}"
        forms = [re.escape(char), f"%(?:25)*(?i:{code})", rf"\\+(?i:u00{code}|x{code})"]
        if not char.isalnum():
            forms.append(rf"\\+{re.escape(char)}")
        if char == " ":
            forms.append(r"\+")
        parts.append("(?:" + "|".join(forms) + ")")
    return re.compile("".join(parts))


def _unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        hexa = match[1] or match[2]
        return chr(int(hexa, 16)) if hexa else match[3]

    return _ESCAPE.sub(one, text)
