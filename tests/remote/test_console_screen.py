"""What the terminal client leaves on a real screen (tmux: a terminal emulator whose screen
can be read back): each command once, a restart told once, --tail that prints and ends,
refusals and key errors in a terminal user's words, the page's colour for commands."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness import ADMIN_KEY, MONITOR_KEY, TIME_SCALE, VsManager
from vsmanager.remote import terminal

TIMEOUT = 20.0 * TIME_SCALE
REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    subprocess.run(["sh", "-c", "command -v tmux"], capture_output=True).returncode != 0,
    reason="tmux is not installed (.ci/run installs it)",
)


class Screen:
    """One tmux server of our own (its own socket), one window 160x40 running ``command``."""

    def __init__(self, command: str, env: dict[str, str], cwd: Path) -> None:
        self.socket = f"vsm-test-{uuid.uuid4().hex[:12]}"
        script = cwd / "screen.sh"
        exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
        # The command's end stays on screen, with its exit status.
        script.write_text(f"{exports}{command}\necho \"EXITED $?\"\nsleep 600\n")
        self._tmux("new-session", "-d", "-x", "160", "-y", "40", "bash", str(script))

    def _tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, check=True, timeout=10).stdout

    def text(self) -> str:
        """The screen and its scrollback, as the user sees it."""
        return self._tmux("capture-pane", "-p", "-J", "-S", "-2000")

    def type(self, keys: str) -> None:
        self._tmux("send-keys", "-l", keys)
        self._tmux("send-keys", "Enter")

    def wait_for(self, what: str, predicate: Callable[[str], bool],
                 timeout: float = TIMEOUT) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.text()
            if predicate(text):
                return text
            time.sleep(0.1)
        raise AssertionError(f"never saw {what} on the screen:\n{text}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True,
                       timeout=10)


@pytest.fixture
def screen_for(vsm: VsManager, tmp_path: Path) -> Iterator[Callable[..., Screen]]:
    screens: list[Screen] = []

    def open_screen(*args: str, key: str = ADMIN_KEY) -> Screen:
        env = {"VS_URL": vsm.url, "VS_API_KEY": key, "XDG_CONFIG_HOME": str(tmp_path / "config"),
               "TERM": "xterm-256color", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
        command = shlex.join([sys.executable, "-m", "vsmanager", "console", *args])
        screen = Screen(command, env, tmp_path)
        screens.append(screen)
        return screen

    try:
        yield open_screen
    finally:
        for screen in screens:
            screen.close()


def interactive(screen_for: Callable[..., Screen]) -> Screen:
    screen = screen_for()
    screen.wait_for("the prompt", lambda t: "running>" in t)
    return screen


def test_a_command_shows_once(screen_for: Callable[..., Screen]) -> None:
    screen = interactive(screen_for)
    screen.type("/help")
    text = screen.wait_for("the answer", lambda t: "admin ran /help" in t and "Handling Console "
                           "Command /help" in t)
    assert text.count("ran /help") == 1  # the echo, once
    assert "> /help" not in text  # the prompt line was not left behind


def test_a_restart_is_told_once(screen_for: Callable[..., Screen], vsm: VsManager) -> None:
    screen = interactive(screen_for)
    with vsm.client() as client:
        client.post("/server/restart")
    text = screen.wait_for("the new run", lambda t: "server started (pid" in t and "run 2)" in t
                           and "running>" in t.rsplit("run 2)", 1)[1])
    assert text.count("server exited with code 0") == 1
    for notice in ("vsmanager: server stopped", "vsmanager: server stopping",
                   "vsmanager: server starting", "vsmanager: server running (pid"):
        # Only the state on connecting is a notice; the changes are console lines.
        assert text.count(notice) == (1 if notice.endswith("(pid") else 0), notice


def test_a_refused_command_names_itself(screen_for: Callable[..., Screen], vsm: VsManager) -> None:
    screen = interactive(screen_for)
    with vsm.client() as client:
        client.post("/server/stop", params={"wait": 30})
    screen.wait_for("the stopped prompt", lambda t: "stopped>" in t)
    screen.type("/help")
    text = screen.wait_for("the refusal", lambda t: "not run: /help: the server is stopped" in t)
    assert "server_not_running" not in text


@pytest.mark.parametrize("args", [["--tail", "5", "--json"], ["--tail", "5"]],
                         ids=["json", "text"])
def test_tail_on_a_terminal_prints_and_ends(screen_for: Callable[..., Screen],
                                            args: list[str]) -> None:
    started = time.monotonic()
    screen = screen_for(*args)
    text = screen.wait_for("the end", lambda t: "EXITED" in t)
    print(f"console {' '.join(args)} on a terminal ended after {time.monotonic() - started:.1f} s")
    assert "EXITED 0" in text
    printed = [line for line in text.splitlines()
               if line.strip() and not line.startswith(("vsmanager:", "EXITED"))]
    assert len(printed) == 5, text
    if "--json" in args:
        assert all(line.startswith('{"seq":') for line in printed)
    assert "running>" not in text


def test_tail_with_follow_on_a_terminal_keeps_the_live_console(
    screen_for: Callable[..., Screen],
) -> None:
    screen = screen_for("--tail", "5", "--follow")
    screen.wait_for("the prompt", lambda t: "running>" in t)
    assert "EXITED" not in screen.text()


def test_a_monitor_key_is_told_which_key_to_set(screen_for: Callable[..., Screen]) -> None:
    screen = screen_for(key=MONITOR_KEY)
    text = screen.wait_for("the end", lambda t: "EXITED" in t)
    assert "EXITED 3" in text
    assert ("vsmanager: the console needs the admin key, and the key in VS_API_KEY is a monitor "
            "key: set VS_API_KEY (or --api-key-file FILE) to the admin key") in text
    assert "role" not in text and "X-API-Key" not in text


def test_a_wrong_key_is_told_which_key_was_refused(screen_for: Callable[..., Screen],
                                                   vsm: VsManager) -> None:
    screen = screen_for(key="not-the-key-0123456789")
    text = screen.wait_for("the end", lambda t: "EXITED" in t)
    assert "EXITED 3" in text
    assert (f"vsmanager: vsmanager at {vsm.url} refused the key in VS_API_KEY (invalid key): "
            "set VS_API_KEY (or --api-key-file FILE) to a key it holds") in text
    assert "X-API-Key" not in text and "Authorization" not in text


def test_the_command_mark_has_the_pages_colour() -> None:
    render_ts = (REPO / "web" / "src" / "render.ts").read_text()
    page = re.search(r'commandBadge: "\\x1b\[([0-9;]+)m"', render_ts)
    assert page is not None
    label_style = terminal.LineRenderer(colour=True).render(
        {"seq": 1, "ts": "t", "stream": "command", "text": "/help"}).split(" CMD ")[0]
    assert label_style == f"\x1b[{page[1]}m"
