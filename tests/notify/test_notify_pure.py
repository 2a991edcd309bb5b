"""Targets, payloads, signatures, retry decisions and match rules: pure parts."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vsmanager.notify.events import DEFAULT_EVENTS, Event
from vsmanager.notify.matching import LineMatcher
from vsmanager.notify.payloads import discord, render, slack, webhook
from vsmanager.notify.retry import RetryRules, judge, retry_after_seconds
from vsmanager.notify.target import MatchRule, TargetError, parse_target

HOOK = "https://discord.com/api/webhooks/123456/very-secret-token"


def test_events_default_and_star() -> None:
    plain = parse_target({"name": "d", "kind": "discord", "url": HOOK})
    assert plain.events == DEFAULT_EVENTS
    star = parse_target({"name": "d", "kind": "discord", "url": HOOK, "events": ["*"]})
    assert "crashed" in star.events and "player_joined" not in star.events
    named = parse_target({"name": "d", "kind": "discord", "url": HOOK, "events": ["*", "player_left"]})
    assert "player_left" in named.events
    assert star.wants("test")


@pytest.mark.parametrize(("change", "field"), [
    ({"kind": "telegram"}, "kind"),
    ({"url": "ftp://x/y"}, "url"),
    ({"url": "not a url"}, "url"),
    ({"url": None}, "url"),
    ({"events": ["crash"]}, "events"),
    ({"events": "crashed"}, "events"),
    ({"secret": "s3cret"}, "secret"),
    ({"match": [{"name": "x", "pattern": "("}]}, "match"),
    ({"match": [{"pattern": "x"}]}, "match"),
    ({"colour": 1}, "colour"),
    ({"name": "a b"}, "name"),
])
def test_bad_targets_name_the_field(change: dict[str, Any], field: str) -> None:
    data = {"name": "d", "kind": "discord", "url": HOOK, **change}
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(TargetError) as info:
        parse_target(data)
    assert info.value.field == field
    assert "very-secret-token" not in str(info.value)


def test_secrets_live_in_files(tmp_path: Path) -> None:
    (tmp_path / "url").write_text(HOOK + "\n")
    (tmp_path / "secret").write_text("shared-secret\n")
    target = parse_target({"name": "w", "kind": "webhook", "url_file": "url", "secret_file": "secret"},
                          tmp_path)
    assert target.url == HOOK and target.secret == "shared-secret"
    with pytest.raises(TargetError) as info:
        parse_target({"name": "w", "kind": "webhook", "url_file": "missing"}, tmp_path)
    assert info.value.field == "url_file"


def test_masked_shows_no_secret() -> None:
    target = parse_target({"name": "w", "kind": "webhook", "url": HOOK + "?token=abc",
                           "secret": "s3cret-value"})
    shown = json.dumps(target.masked())
    assert "very-secret-token" not in shown and "s3cret-value" not in shown and "abc" not in shown
    assert target.masked()["url"] == "https://discord.com/…"
    assert "very-secret-token" not in repr(target)


def test_discord_gets_content_and_an_embed_with_the_last_lines() -> None:
    event = Event("crashed", {"exit_code": 3, "run": 2, "last_lines": [f"line {i}" for i in range(10)]})
    body = discord(event)
    assert "exit code 3" in body["content"]
    embed = body["embeds"][0]
    assert embed["color"] and "crashed" in embed["title"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["exit code"] == "3" and "line 9" in fields["last lines"]
    assert body["allowed_mentions"] == {"parse": []}  # no @everyone from a console line


@given(st.lists(st.text(max_size=3000), max_size=10))
def test_discord_limits_hold_for_any_lines(lines: list[str]) -> None:
    body = discord(Event("crashed", {"exit_code": 1, "run": 1, "last_lines": lines}))
    assert len(body["content"]) <= 2000
    assert all(len(f["value"]) <= 1024 for f in body["embeds"][0]["fields"])


def test_slack_gets_text() -> None:
    assert "crashed" in slack(Event("crashed", {"exit_code": 1, "run": 1, "last_lines": ["x"]}))["text"]


def test_the_webhook_signature_verifies() -> None:
    event = Event("crashed", {"exit_code": 1, "run": 1, "last_lines": []})
    body, headers = webhook(event, "shared-secret")
    assert json.loads(body) == {"event": "crashed", "time": event.iso_time, "data": event.data}
    expected = hmac.new(b"shared-secret", headers["X-Vsmanager-Timestamp"].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    assert headers["X-Vsmanager-Signature"] == f"sha256={expected}"
    unsigned = parse_target({"name": "w", "kind": "webhook", "url": "http://127.0.0.1:1/h"})
    assert "X-Vsmanager-Signature" not in render(event, unsigned)[1]


RULES = RetryRules(first=1, longest=300, for_s=3600)


def test_retries_double_up_to_the_longest_then_give_up_after_an_hour() -> None:
    waits = [judge(RULES, n, 0, 500).retry_in for n in range(1, 12)]
    assert waits[:4] == [1, 2, 4, 8] and max(w for w in waits if w) == 300
    assert judge(RULES, 20, 3500, 503).retry_in is None
    assert judge(RULES, 1, 0, None, "timed out").retry_in == 1


def test_4xx_gives_up_at_once_but_429_waits_as_told() -> None:
    assert judge(RULES, 1, 0, 404).retry_in is None
    assert judge(RULES, 1, 0, 400).retry_in is None
    assert judge(RULES, 1, 0, 429, retry_after="7").retry_in == 7
    assert judge(RULES, 1, 0, 429, retry_after="99999").retry_in == 300
    assert judge(RULES, 1, 0, 200).delivered


def test_retry_after_as_a_date() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    later = (now + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert retry_after_seconds(later, now) == 30
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("nan") is None


def test_a_rule_is_told_at_most_once_a_minute_with_the_count_held_back() -> None:
    matcher = LineMatcher((MatchRule("errors", re.compile("Exception")),))
    assert matcher.feed("NullReferenceException", 0) == [("errors", 0)]
    assert matcher.feed("Exception again", 10) == []
    assert matcher.feed("Exception again", 20) == []
    assert matcher.feed("all fine", 30) == []
    assert matcher.flush(59) == []
    assert matcher.flush(61) == [("errors", 2)]
    assert matcher.feed("Exception", 70) == []
    assert matcher.feed("Exception", 122) == [("errors", 1)]
