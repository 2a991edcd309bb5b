"""What a schedule's run does given the facts: run, skip (and why), wait for players, or
count a slot as missed. Pure: fed with the server's state, the players online and a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vsmanager.automation.durations import spoken_duration

# A slot whose time passed this long before vsmanager could act on it (vsmanager was not
# running, the machine slept, the clock jumped) is missed, never run late.
LATE_GRACE_S = 60.0

NEEDS_RUNNING = frozenset({"restart", "stop", "command"})


@dataclass(frozen=True, slots=True)
class Facts:
    state: str  # the supervisor's: stopped, starting, running, stopping, crashed
    players: int  # online, as the game profile reads them
    busy: bool = False  # a run of the same schedule is still going


def refusal(action: str, when_players: str, facts: Facts, *, by_hand: bool = False,
            ahead: bool = False) -> str | None:
    """Why this run is skipped, or None to go ahead. ``by_hand`` (run now) ignores players;
    ``ahead`` (a countdown about to begin) lets a server that is starting or stopping be
    judged again at the action's time."""
    if facts.busy:
        return "the previous run is still going"
    if ahead and facts.state in ("stopping", "starting"):
        return None
    if facts.state in ("stopping", "starting"):
        return f"the server is {facts.state}"
    if action in NEEDS_RUNNING and facts.state != "running":
        return "server not running"
    if action == "start" and facts.state == "running":
        return "server already running"
    if when_players == "skip" and facts.players > 0 and not by_hand:
        return f"{players_online(facts.players)} online"
    return None


Hold = Literal["act", "wait", "act_anyway"]


def hold(when_players: str, players: int, waited: float, max_wait: float) -> Hold:
    """With ``wait``: hold the action while anyone is online, for at most ``max_wait``."""
    if when_players != "wait" or players == 0:
        return "act"
    return "wait" if waited < max_wait else "act_anyway"


def waited_note(waited: float, players_left: int) -> str | None:
    """What an ``ok`` outcome adds about the wait, if there was one."""
    if waited < 1:
        return None if players_left == 0 else f"{players_online(players_left)} online"
    if players_left == 0:
        return f"waited {spoken_duration(waited)} for the players to leave"
    return f"waited {spoken_duration(waited)}, then acted with {players_online(players_left)} online"


def is_missed(due_epoch: float, now_epoch: float) -> bool:
    return now_epoch - due_epoch > LATE_GRACE_S


def warnings_left(warn: tuple[int, ...], due_epoch: float, now_epoch: float) -> list[int]:
    """The warnings (seconds before the action) whose time has not passed yet; one that is
    at most a second late is still sent."""
    return [offset for offset in warn if due_epoch - offset >= now_epoch - 1.0]


def players_online(count: int) -> str:
    return f"{count} player{'' if count == 1 else 's'}"


def action_line(action: str) -> str:
    """The console's words for an action about to happen."""
    return {
        "restart": "restarting the server",
        "stop": "stopping the server",
        "start": "starting the server",
        "command": "sending its commands",
        "backup": "making a backup",
    }.get(action, f"running {action}")
