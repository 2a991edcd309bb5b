"""What each kind of target is sent for an event: Discord's JSON (content and an embed with
colour, title and fields), Slack's (text), or the generic webhook's (``{"event", "time",
"data"}``, signed). Pure: an event and a target in, a body and headers out."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from vsmanager.notify.events import Event
from vsmanager.notify.target import Target

GREEN, YELLOW, RED, BLUE, GREY = 0x2ECC71, 0xF1C40F, 0xE74C3C, 0x3498DB, 0x95A5A6
_COLOURS = {"crashed": RED, "gave_up": RED, "backup_failed": RED, "ready": GREEN, "started": BLUE,
            "backup_done": GREEN, "schedule_warning": YELLOW, "restarting": YELLOW, "console_match": YELLOW}
# Discord's limits: a field's value, an embed's description.
FIELD_CHARS = 1024
CONTENT_CHARS = 2000


def title(event: Event) -> str:
    data = event.data
    match event.name:
        case "crashed":
            return f"Game server crashed (exit code {data.get('exit_code')})"
        case "restarting":
            return f"Game server restarts in {data.get('in', '?')} after a crash"
        case "gave_up":
            return f"Game server crashed {data.get('crashes', 'too many')} times: not restarted"
        case "started":
            return f"Game server started (run {data.get('run')})"
        case "ready":
            return f"Game server ready (run {data.get('run')})"
        case "stopped":
            return f"Game server stopped (run {data.get('run')})"
        case "schedule_warning":
            return f"Schedule {data.get('schedule')}: {data.get('action')} in {data.get('in')}"
        case "schedule_run":
            return f"Schedule {data.get('schedule')} ({data.get('action')}): {data.get('outcome')}"
        case "console_match":
            held = data.get("held_back", 0)
            more = f" (+{held} more in the last minute)" if held else ""
            return f"Console line matched {data.get('rule')}{more}"
        case "player_joined":
            return f"{data.get('player')} joined"
        case "player_left":
            return f"{data.get('player')} left"
        case "key_added" | "key_removed":
            return f"Key {data.get('key')} {'added' if event.name == 'key_added' else 'removed'}"
        case "vsmanager_started":
            return "vsmanager started"
        case "vsmanager_stopping":
            return "vsmanager stopping"
        case "backup_done":
            return "Backup done"
        case "backup_failed":
            return f"Backup failed: {data.get('why', '')}".rstrip(": ")
        case "test":
            return "Test notification from vsmanager"
    return event.name


def render(event: Event, target: Target) -> tuple[bytes, dict[str, str]]:
    if target.kind == "discord":
        body: dict[str, Any] = discord(event)
    elif target.kind == "slack":
        body = slack(event)
    else:
        return webhook(event, target.secret)
    return _json(body), {"Content-Type": "application/json"}


def discord(event: Event) -> dict[str, Any]:
    fields = []
    for key, value in event.data.items():
        if key == "last_lines" and isinstance(value, list):
            text = "\n".join(str(line) for line in value)
            fields.append({"name": "last lines", "value": _code(text), "inline": False})
        elif value is not None and not isinstance(value, list | dict):
            fields.append({"name": key.replace("_", " "), "value": _cut(str(value), FIELD_CHARS),
                           "inline": True})
    embed = {"title": _cut(title(event), 256), "color": _COLOURS.get(event.name, GREY),
             "timestamp": event.iso_time, "fields": fields[:25],
             "footer": {"text": f"vsmanager · {event.name}"}}
    return {"content": _cut(title(event), CONTENT_CHARS), "embeds": [embed], "allowed_mentions": {"parse": []}}


def slack(event: Event) -> dict[str, Any]:
    lines = [f"*{title(event)}*"]
    for key, value in event.data.items():
        if key == "last_lines" and isinstance(value, list):
            lines.append("```\n" + "\n".join(str(line) for line in value)[-2900:] + "\n```")
        elif value is not None and not isinstance(value, list | dict):
            lines.append(f"{key.replace('_', ' ')}: {value}")
    return {"text": "\n".join(lines)}


def webhook(event: Event, secret: str | None) -> tuple[bytes, dict[str, str]]:
    body = _json({"event": event.name, "time": event.iso_time, "data": event.data})
    timestamp = str(int(event.time.timestamp()))
    headers = {"Content-Type": "application/json", "X-Vsmanager-Event": event.name,
               "X-Vsmanager-Timestamp": timestamp}
    if secret is not None:
        headers["X-Vsmanager-Signature"] = "sha256=" + signature(secret, timestamp, body)
    return body, headers


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 of ``timestamp + "." + body`` with the shared secret, in hex."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _code(text: str) -> str:
    text = text.replace("```", "'''")
    room = FIELD_CHARS - 8
    return "```\n" + (text if len(text) <= room else "…" + text[-(room - 1):]) + "\n```"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str).encode()
