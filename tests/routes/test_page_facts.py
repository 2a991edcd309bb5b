"""What the page asks before and after sign-in: the demo flag (no key) and the game's
vocabulary (`GET /console/profile`: line classes, stamp, player commands; Admin)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator

import httpx
import pytest

from harness import MONITOR_KEY, VsManager, run_vsmanager
from vsmanager.game.vocabulary import VINTAGE_STORY_ACTIONS, VINTAGE_STORY_LINES, vocabulary


@pytest.fixture(scope="module")
def shared() -> Iterator[VsManager]:
    with run_vsmanager(autostart=False) as manager:
        yield manager


def test_page_config_says_whether_it_is_the_demo_without_a_key(shared: VsManager) -> None:
    response = httpx.get(f"{shared.url}/page-config")
    assert response.status_code == 200
    assert response.json() == {"demo": False}


def test_the_demo_says_so() -> None:
    with run_vsmanager(autostart=False, web_demo="true") as vsm:
        assert httpx.get(f"{vsm.url}/page-config").json() == {"demo": True}


def test_profile_gives_the_line_classes_and_player_commands(shared: VsManager) -> None:
    with shared.client() as client:
        body = client.get("/console/profile").json()
    assert body["profile"] == "vintagestory"
    assert [c["name"] for c in body["line_classes"]] == ["warning", "error", "trace", "chat", "event"]
    assert [a["action"] for a in body["player_actions"]] == ["kick", "ban", "op", "whitelist", "message"]
    assert all(a["command"].startswith("/") and "{name}" in a["command"] for a in body["player_actions"])


def test_profile_is_for_admins(shared: VsManager) -> None:
    with shared.client(MONITOR_KEY) as client:
        assert client.get("/console/profile").status_code == 403
    assert httpx.get(f"{shared.api}/console/profile").status_code == 401


def test_profile_none_knows_nothing() -> None:
    assert vocabulary("none") == {"profile": "none", "stamp": None, "line_classes": [], "player_actions": []}


CLASSIFIED = {
    "6.12.2026 20:55:00 [Server Warning] Server overloaded. A tick took 612ms to complete.": "warning",
    "[Server Warning] no stamp": "warning",
    "6.12.2026 20:55:00 [Server Error] Unhandled exception: System.NullReferenceException: x": "error",
    "   at Vintagestory.Server.ServerMain.Process()": "trace",
    "System.InvalidOperationException: bad state": "trace",
    "--- End of inner exception stack trace ---": "trace",
    "6.12.2026 20:55:00 [Server Chat] Priya13: <strong>Priya13:</strong> hiiii": "chat",
    "6.12.2026 20:55:00 [Server Event] Tyron [127.0.0.1]:1 joins.": "event",
    "6.12.2026 20:55:00 [Server Notification] Handling Console Command /help": None,
    # A player cannot colour a chat line as an error by saying it.
    "6.12.2026 20:55:00 [Server Chat] Tyron: [Server Error] you are banned": "chat",
    "Loaded mods (2):": None,
}


def _classify(text: str) -> str | None:
    for line in VINTAGE_STORY_LINES:
        if re.search(line.pattern, text):
            return line.name
    return None


@pytest.mark.parametrize(("text", "expected"), CLASSIFIED.items())
def test_lines_are_classified_as_a_reader_expects(text: str, expected: str | None) -> None:
    assert _classify(text) == expected


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_javascript_reads_the_patterns_alike() -> None:
    # The page compiles these with JavaScript's RegExp: same answers, line for line.
    import json

    script = (
        "const [patterns, lines] = JSON.parse(process.argv[1]);"
        "const out = lines.map(t => { const p = patterns.find(p => new RegExp(p.pattern).test(t));"
        " return p ? p.name : null; });"
        "console.log(JSON.stringify(out));"
    )
    patterns = [{"name": p.name, "pattern": p.pattern} for p in VINTAGE_STORY_LINES]
    payload = json.dumps([patterns, list(CLASSIFIED)])
    out = subprocess.run(["node", "-e", script, payload],
                         capture_output=True, text=True, check=True, timeout=30)
    assert json.loads(out.stdout) == list(CLASSIFIED.values())


def test_player_commands_hold_the_name_once() -> None:
    for action in VINTAGE_STORY_ACTIONS:
        assert action.command.count("{name}") == 1
        assert ("{text}" in action.command) == (action.text is not None)
