"""How a game's console reads to a person, and the commands that act on one player.

For the clients: the stamp each line begins with, the classes of lines a reader tells
apart (warnings, errors, stack traces, chat, events) and the player actions (kick, ban,
op, whitelist, message). vsmanager never classifies a line itself: the page does, as it
draws it, so the capture path pays nothing per line (docs/web.md). The patterns use only
what Python's and JavaScript's regular expressions read alike (no named groups, no
look-behind), which a test checks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from vsmanager.config.patterns import ProfileName

LineClass = Literal["warning", "error", "trace", "chat", "event"]
Action = Literal["kick", "ban", "op", "whitelist", "message"]

# "13.8.2026 14:00:00 " (day and month not padded): what the game stamps its lines with.
_STAMP = r"\d{1,2}\.\d{1,2}\.\d{4} \d{1,2}:\d{2}:\d{2} "
_START = "^(?:" + _STAMP + ")?"


@dataclass(frozen=True, slots=True)
class LinePattern:
    name: LineClass
    label: str  # the legend's word
    pattern: str


@dataclass(frozen=True, slots=True)
class PlayerAction:
    action: Action
    label: str
    # "{name}" is the player, "{text}" what the admin typed in the field (if any).
    command: str
    # The field's label ("Reason"), or None when the command takes nothing more.
    text: str | None
    text_required: bool
    explain: str  # what the command does, for the confirmation


# First match wins: a "[Server Error]" line that names an exception is an error; the
# lines after it (the frames, unstamped) are the trace.
VINTAGE_STORY_LINES: tuple[LinePattern, ...] = (
    LinePattern("warning", "Warning", _START + r"\[Server Warning\] "),
    LinePattern("error", "Error", _START + r"\[Server (?:Error|Fatal)\] "),
    LinePattern(
        "trace",
        "Stack trace",
        r"^\s+at \S|^\s*--- End of (?:inner exception )?stack trace"
        r"|^(?:[A-Za-z_][\w`]*\.)+[A-Za-z_]\w*(?:Exception|Error)(?::|$)",
    ),
    LinePattern("chat", "Chat", _START + r"\[Server Chat\] "),
    LinePattern("event", "Event", _START + r"\[Server Event\] "),
)

# The console commands of Vintage Story 1.19+ (docs/web.md says which are confirmed).
VINTAGE_STORY_ACTIONS: tuple[PlayerAction, ...] = (
    PlayerAction("kick", "Kick", "/kick {name} {text}", "Reason", False,
                 "The player is disconnected and may come back."),
    PlayerAction("ban", "Ban", "/ban {name} {text}", "Reason", False,
                 "The player is disconnected and may not come back until unbanned."),
    PlayerAction("op", "Op", "/op {name}", None, False,
                 "The player gets the admin role on the game server."),
    PlayerAction("whitelist", "Whitelist", "/player {name} whitelist on", None, False,
                 "The player may join while the server only lets whitelisted players in."),
    PlayerAction("message", "Message", "/msg {name} {text}", "Message", True,
                 "Only this player sees the message."),
)


def vocabulary(profile: ProfileName) -> dict[str, Any]:
    """What ``GET /console/profile`` answers for ``profile`` (``none``: nothing known)."""
    if profile != "vintagestory":
        return {"profile": profile, "stamp": None, "line_classes": [], "player_actions": []}
    return {
        "profile": profile,
        "stamp": "^" + _STAMP,
        "line_classes": [asdict(line) for line in VINTAGE_STORY_LINES],
        "player_actions": [asdict(action) for action in VINTAGE_STORY_ACTIONS],
    }
