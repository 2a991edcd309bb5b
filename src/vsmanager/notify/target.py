"""One notification target's definition, checked field by field; URLs and secrets kept out
of every text it shows (``masked``). Reads ``url_file`` and ``secret_file`` when parsed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from vsmanager.notify.events import EVENTS, TEST_EVENT, expand

Kind = Literal["discord", "slack", "webhook"]
KINDS = ("discord", "slack", "webhook")
NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_RULES = 20
MAX_PATTERN_CHARS = 500
_KEYS = ("name", "kind", "url", "url_file", "secret", "secret_file", "events", "match")


class TargetError(ValueError):
    def __init__(self, name: str | None, field_name: str, why: str) -> None:
        super().__init__(f"notification {name or '?'}: {field_name}: {why}")
        self.name = name
        self.field = field_name
        self.why = why

    def as_json(self) -> dict[str, str]:
        return {"field": self.field, "why": self.why}


@dataclass(frozen=True, slots=True)
class MatchRule:
    name: str
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    kind: Kind
    url: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)
    events: frozenset[str] = frozenset()
    match: tuple[MatchRule, ...] = ()

    def wants(self, event: str) -> bool:
        return event == TEST_EVENT or event in self.events

    def masked(self) -> dict[str, Any]:
        """What the API and logs may show: the URL's scheme and host only, no secret."""
        return {"name": self.name, "kind": self.kind, "url": mask_url(self.url),
                "secret": "[set]" if self.secret else None, "events": sorted(self.events),
                "match": [{"name": rule.name, "pattern": rule.pattern.pattern} for rule in self.match]}

    def secrets(self) -> list[str]:
        """Texts that must never be shown: the URL (and its path, which holds Discord's
        token) and the secret."""
        parts = urlsplit(self.url)
        found = [self.url, parts.path] if len(parts.path) > 8 else [self.url]
        if parts.query:
            found.append(parts.query)
        return [s for s in (*found, self.secret) if s]


def mask_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


def parse_target(data: object, base: Path | None = None) -> Target:
    if not isinstance(data, dict):
        raise TargetError(None, "notification", "must be a table (an object) of keys")
    name = data.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise TargetError(name[:64] if isinstance(name, str) else None, "name",
                          "required: 1 to 64 letters, digits, - and _")

    def fail(key: str, why: str) -> TargetError:
        return TargetError(name, key, why)

    for key in data:
        if key not in _KEYS:
            raise fail(str(key)[:40], f"unknown key; the keys are {', '.join(_KEYS)}")
    kind = data.get("kind")
    if kind not in KINDS:
        raise fail("kind", "required: discord, slack or webhook")
    url = _value_or_file(data, "url", base, fail, required=True)
    assert url is not None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise fail("url", "must be an http:// or https:// URL")
    secret = _value_or_file(data, "secret", base, fail, required=False)
    if secret is not None and kind != "webhook":
        raise fail("secret", 'only with kind = "webhook" (it signs the body)')
    return Target(name=name, kind=kind, url=url, secret=secret, events=_events(data, fail),
                  match=_rules(data, fail))


def _value_or_file(data: dict[str, Any], key: str, base: Path | None, fail: Any, required: bool) -> str | None:
    value, path = data.get(key), data.get(f"{key}_file")
    if value is not None and path is not None:
        raise fail(key, f"give {key} or {key}_file, not both")
    if path is not None:
        if not isinstance(path, str):
            raise fail(f"{key}_file", "must be a path")
        file = Path(path).expanduser()
        if base is not None and not file.is_absolute():
            file = base / file
        try:
            value = file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise fail(f"{key}_file", f"cannot read {file} ({reason})") from None
    if value is None:
        if required:
            raise fail(key, f"required: {key} or {key}_file")
        return None
    if not isinstance(value, str) or not value or len(value) > 2048:
        raise fail(key, "must be text of at most 2048 characters")
    return value


def _events(data: dict[str, Any], fail: Any) -> frozenset[str]:
    events = data.get("events")
    if events is None:
        return expand(None)
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise fail("events", 'a list of event names, or ["*"]')
    for event in events:
        if event != "*" and event not in EVENTS:
            raise fail("events", f"{event[:40]!r} is no event; the events are {', '.join(EVENTS)}")
    return expand(events)


def _rules(data: dict[str, Any], fail: Any) -> tuple[MatchRule, ...]:
    rules = data.get("match")
    if rules is None:
        return ()
    if not isinstance(rules, list) or len(rules) > MAX_RULES:
        raise fail("match", f'a list of at most {MAX_RULES} {{ name = "…", pattern = "…" }} tables')
    found = []
    for rule in rules:
        if not isinstance(rule, dict) or set(rule) != {"name", "pattern"}:
            raise fail("match", 'each rule is { name = "…", pattern = "…" }')
        name, pattern = rule["name"], rule["pattern"]
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
            raise fail("match", "a rule's name: 1 to 64 letters, digits, - and _")
        if not isinstance(pattern, str) or not pattern or len(pattern) > MAX_PATTERN_CHARS:
            raise fail("match", f"rule {name}: a pattern of 1 to {MAX_PATTERN_CHARS} characters")
        try:
            found.append(MatchRule(name, re.compile(pattern)))
        except re.error as exc:
            raise fail("match", f"rule {name}: not a regular expression ({exc})") from None
    return tuple(found)
