"""The human form of vsmanager's status: the facts an admin looks for first, one per row.

Pure: strings from the status object (``GET /server/status``), the newest resource sample
(``GET /server/metrics``) and the time now. A field an older vsmanager does not send leaves
its row out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from vsmanager.remote.terminal import escape_text

Facts = Mapping[str, Any]

MAX_PLAYER_NAMES = 20  # more are counted, not listed: one row stays one row
_LABEL_WIDTH = 11


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    if days or hours:
        parts.append(f"{hours}h")
    if days or hours or minutes:
        parts.append(f"{minutes}m")
    parts.append(f"{secs}s")
    return " ".join(parts)


def format_bytes(count: float) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 UTC timestamp from vsmanager (``2026-12-01T22:00:00Z``), or None."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _show(value: object) -> str:
    return "-" if value is None else escape_text(str(value), keep_colours=False)


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else None


def describe_state(status: Facts) -> str:
    state = _show(status.get("state"))
    if status.get("state") in ("crashed", "stopped") and status.get("exit_code") is not None:
        return f"{state} (exit code {_show(status['exit_code'])})"
    return state


def describe_status(status: Facts, *, with_uptime: bool = False,
                    now: datetime | None = None) -> str:
    """One line for a change of state: ``server running (pid 7, run 3)``, ``server crashed
    (exit code 1); next restart in 5 s``."""
    state = status.get("state")
    details = []
    if state in ("running", "starting", "stopping") and status.get("pid") is not None:
        details.append(f"pid {_show(status['pid'])}")
        if status.get("run") is not None:
            details.append(f"run {_show(status['run'])}")
        if with_uptime and _number(status.get("uptime_s")) is not None:
            details.append(f"up {format_duration(_number(status['uptime_s']))}")
    elif state == "crashed":
        details.append(f"exit code {_show(status.get('exit_code'))}")
    text = f"server {_show(state)}" + (f" ({', '.join(details)})" if details else "")
    if state == "crashed":
        if status.get("gave_up"):
            text += "; not restarting: " + (describe_restart(status, now or _now()) or "")
        elif status.get("next_restart_at") is not None:
            due = parse_time(status["next_restart_at"])
            if due is not None:
                wait = max(0, math.ceil((due - (now or _now())).total_seconds()))
                text += f"; restarting in {wait} s"
    leftovers = status.get("leftover_pids") or []
    if leftovers:
        text += f"; leftover pids {_show(', '.join(str(p) for p in leftovers))} hold its pipes"
    return text


def _now() -> datetime:
    return datetime.now().astimezone()


def describe_last_run(last: Facts) -> str:
    """``2, crashed with code 1 at 2026-12-01T21:59:58Z after 5m 2s``"""
    text = _show(last.get("run"))
    outcome, code = last.get("outcome"), last.get("exit_code")
    if outcome is not None:
        text += f", {_show(outcome)}"
        if code is not None:
            text += f" with code {_show(code)}"
    if last.get("ended_at") is not None:
        text += f" at {_show(last['ended_at'])}"
    started, ended = parse_time(last.get("started_at")), parse_time(last.get("ended_at"))
    if started is not None and ended is not None:
        text += f" after {format_duration(max(0.0, (ended - started).total_seconds()))}"
    return text


def describe_restart(status: Facts, now: datetime) -> str | None:
    """What happens if (or since) the game crashed: the restart policy's state."""
    policy = status.get("restart_policy")
    if policy is None:
        return None
    crashes = int(_number(status.get("crashes")) or 0)
    lately = f"{crashes} crash{'es' if crashes != 1 else ''} lately"
    if status.get("gave_up"):
        return f"gave up after {lately.removesuffix(' lately')}: start it by hand"
    due = parse_time(status.get("next_restart_at"))
    if due is not None:
        wait = max(0, math.ceil((due - now).total_seconds()))
        return f"next in {wait} s ({lately})"
    if policy == "never":
        return "never (VS_SERVER_RESTART=never)"
    return f"on crash ({lately})" if crashes else "on crash"


def describe_players(game: Facts) -> str:
    online = int(_number(game.get("players_online")) or 0)
    maximum = game.get("players_max")
    text = f"{online} of {_show(maximum)}" if maximum is not None else str(online)
    names = [str(name) for name in game.get("players") or []]
    if names:
        shown = ", ".join(_show(name) for name in names[:MAX_PLAYER_NAMES])
        more = len(names) - MAX_PLAYER_NAMES
        text += f": {shown}" + (f" and {more} more" if more > 0 else "")
    return text


def describe_version(game: Facts) -> str:
    version = game.get("version")
    if version is None:
        return "- (not seen in the console yet)"
    channel = game.get("channel")
    return _show(version) + (f" ({_show(channel)})" if channel else "")


def resource_rows(sample: Facts | None) -> list[tuple[str, str]]:
    if sample is None:
        return []
    cpu, rss = _number(sample.get("game_cpu_percent")), _number(sample.get("game_rss_bytes"))
    threads = _number(sample.get("game_threads"))
    memory = "-" if rss is None else format_bytes(rss) + " RSS"
    if rss is not None and threads is not None:
        memory += f", {threads:.0f} threads"
    rows = [("game cpu", "-" if cpu is None else f"{cpu:.1f} % of one core"),
            ("game memory", memory)]
    rate, clients = _number(sample.get("lines_per_second")), _number(sample.get("clients"))
    if rate is not None:
        rows.append(("console", f"{rate:.1f} lines/s" + (
            f", {clients:.0f} clients" if clients is not None else "")))
    return rows


def status_rows(status: Facts, sample: Facts | None, url: str,
                now: datetime) -> list[tuple[str, str]]:
    state = status.get("state")
    rows = [("state", describe_state(status))]
    if state in ("starting", "running", "stopping"):
        rows.append(("uptime", format_duration(_number(status.get("uptime_s")))))
    rows.append(("pid", _show(status.get("pid"))))
    if status.get("run") is not None:
        started = status.get("started_at")
        rows.append(("run", _show(status["run"]) + (f", started {_show(started)}"
                                                    if started else "")))
    elif status.get("started_at") is not None:
        rows.append(("started at", _show(status["started_at"])))
    last = status.get("last_run")
    if isinstance(last, Mapping):
        rows.append(("last run", describe_last_run(last)))
    restart = describe_restart(status, now)
    if restart is not None:
        rows.append(("restart", restart))
    if status.get("restarts") is not None:
        rows.append(("restarts", _show(status["restarts"])))
    game = status.get("game")
    if isinstance(game, Mapping):
        rows.append(("version", describe_version(game)))
        rows.append(("players", describe_players(game)))
        ticks = int(_number(game.get("overloaded_ticks")) or 0)
        if ticks:
            last_ms = game.get("last_overload_ms")
            rows.append(("overloaded", f"{ticks} tick{'s' if ticks != 1 else ''}" + (
                f", the last {_show(last_ms)} ms" if last_ms is not None else "")))
    rows.extend(resource_rows(sample))
    leftovers = [str(pid) for pid in status.get("leftover_pids") or []]
    if leftovers:
        rows.append(("leftover", f"pids {_show(', '.join(leftovers))} still hold the game's "
                     "pipes"))
    rows.append(("vsmanager", url))
    return rows


def status_table(status: Facts, url: str, *, sample: Facts | None = None,
                 now: datetime | None = None) -> str:
    """The rows as aligned text, one fact per line."""
    when = now or _now()
    return "\n".join(f"{name:<{_LABEL_WIDTH}} {value}"
                     for name, value in status_rows(status, sample, url, when))


def latest_sample(metrics: Facts | None) -> Facts | None:
    samples = metrics.get("samples") if metrics is not None else None
    return samples[-1] if isinstance(samples, list) and samples else None
