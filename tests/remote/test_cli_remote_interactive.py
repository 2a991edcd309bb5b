"""``vsmanager console`` on a pseudo-terminal: the prompt, commands, history, completion."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from harness import ADMIN_KEY, TIME_SCALE, VsManager

TIMEOUT = 15.0 * TIME_SCALE
UP_ARROW = "\x1b[A"


def echo(command: str) -> str:
    """The command echo as a terminal shows it: the inverse ``CMD`` label, then (with named
    keys) who ran it, then the command."""
    return r"\x1b\[1;7;35m CMD \x1b\[0m \x1b\[1;35m(\S+ ran )?" + re.escape(command)


@pytest.fixture
def config_home(tmp_path: Path) -> Path:
    return tmp_path / "config"


@pytest.fixture
def console(vsm: VsManager, config_home: Path) -> Iterator[pexpect.spawn]:
    """``vsmanager console`` with no flags: interactive because both ends are a terminal."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VS_")}
    env.update(VS_URL=vsm.url, VS_API_KEY=ADMIN_KEY, XDG_CONFIG_HOME=str(config_home),
               TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
    child = pexpect.spawn(sys.executable, ["-m", "vsmanager", "console"], env=env,
                          timeout=TIMEOUT, dimensions=(40, 160), encoding="utf-8")
    try:
        child.expect("Dedicated Server now running")  # the history, printed above the prompt
        child.expect("running>")  # the prompt shows the server's state
        yield child
    finally:
        if child.isalive():
            child.terminate(force=True)
        child.close()


def test_enter_sends_a_command_and_its_answer_scrolls_above(console: pexpect.spawn) -> None:
    console.send("/stats\r")
    console.expect(echo("/stats"))
    console.expect("Players online")


def test_history_is_kept_in_the_config_dir_and_recalled_with_up(
    console: pexpect.spawn, config_home: Path
) -> None:
    console.send("/time\r")
    console.expect("Server time is")
    console.expect("running>")
    console.send(UP_ARROW)
    console.send("\r")
    console.expect(echo("/time"))  # sent a second time, from the history
    console.expect("Server time is")
    history = config_home / "vsmanager" / "history"
    assert "+/time" in history.read_text()
    assert history.stat().st_mode & 0o077 == 0


def test_tab_completes_vintage_story_commands(console: pexpect.spawn) -> None:
    console.send("/annou\t")
    # The completion is applied by a task of the prompt's: keys sent before it lands change
    # the line under it and it is dropped (CI typed the rest within a millisecond).
    console.expect("nce")
    console.send("hi from the tab\r")
    console.expect(echo("/announce hi from the tab"))
    console.expect("Server: hi from the tab")


@pytest.mark.parametrize("key", ["c", "d"], ids=["ctrl-c", "ctrl-d"])
def test_leaving_does_not_stop_the_server(
    console: pexpect.spawn, vsm: VsManager, key: str
) -> None:
    console.sendcontrol(key)
    console.expect("the server keeps running")
    console.expect(pexpect.EOF)
    console.close()
    assert console.exitstatus == 0
    assert vsm.status()["state"] == "running"


def test_a_refused_command_is_reported_not_fatal(console: pexpect.spawn) -> None:
    console.send("/stop\r")
    console.expect("server exited with code 0")
    console.expect("stopped>")
    console.send("/help\r")
    console.expect("not run: /help: the server is stopped")
    console.sendcontrol("d")
    console.expect(pexpect.EOF)
