"""The terminal client's pure parts: escaping, rendering, resuming, key lookup, completion."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from vsmanager.console.buffer import Gap
from vsmanager.remote.api import Backoff
from vsmanager.remote.endpoint import EndpointError, config_dir, resolve_endpoint
from vsmanager.remote.interactive import VS_COMMANDS, CommandCompleter
from vsmanager.remote.terminal import (
    LineRenderer,
    escape_text,
    json_line,
    notice,
    parse_streams,
)
from vsmanager.remote.watcher import Resume

HOSTILE = [
    pytest.param("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07", id="osc-title"),
    pytest.param("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H", id="clear-screen"),
    pytest.param("ok\rEVIL", "ok\\x0dEVIL", id="carriage-return"),
    pytest.param("abc\x08\x08\x08xyz", "abc\\x08\\x08\\x08xyz", id="backspaces"),
    pytest.param("\x9b31m", "\\x9b31m", id="c1-csi"),
    pytest.param("\x1bP+q\x1b\\", "\\x1bP+q\\x1b\\", id="dcs"),
    pytest.param("file\u202egnp.exe", "file\\u202egnp.exe", id="bidi-override"),
    pytest.param("\x00\x7f", "\\x00\\x7f", id="nul-del"),
    pytest.param("\x1b[1;2H", "\\x1b[1;2H", id="cursor-move-looks-like-sgr"),
]


@pytest.mark.parametrize(("text", "shown"), HOSTILE)
def test_escape_text_makes_control_sequences_visible(text: str, shown: str) -> None:
    assert escape_text(text) == shown


def test_escape_text_keeps_foreground_colours_and_tabs() -> None:
    text = "\x1b[31mred\x1b[0m\tand \x1b[38;5;208;39morange\x1b[m \x1b[97;49mü ✓"
    assert escape_text(text) == text


BACKGROUNDS = [
    pytest.param("\x1b[46;30m CMD \x1b[0m /op attacker", "\x1b[30m CMD \x1b[0m /op attacker",
                 id="cyan-background-fake-label"),
    pytest.param("\x1b[43m vsmanager \x1b[0m", " vsmanager \x1b[0m", id="yellow-background"),
    pytest.param("\x1b[104;97mx", "\x1b[97mx", id="bright-background"),
    pytest.param("\x1b[38;5;208;48;2;1;2;3mx", "\x1b[38;5;208mx", id="rgb-background"),
    pytest.param("\x1b[48;5;6;30mx", "\x1b[30mx", id="256-background"),
    pytest.param("\x1b[48:2::0:255:255mx", "x", id="colon-background"),
]


@pytest.mark.parametrize(("text", "shown"), BACKGROUNDS)
def test_game_text_loses_its_background_colours(text: str, shown: str) -> None:
    # With a background, game text could draw vsmanager's own inverse " CMD " label.
    assert escape_text(text) == shown
    rendered = LineRenderer(colour=True).render({"seq": 1, "ts": "t", "stream": "stdout", "text": text})
    assert not re.search(r"\x1b\[[0-9;:]*(?:^|;)(?:4[0-7]|10[0-7]|48|7)(?:;|m)", rendered), rendered


BIDI = [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x2028, 0x2029]


@pytest.mark.parametrize("code", BIDI, ids=[f"U+{c:04X}" for c in BIDI])
def test_bidi_controls_are_shown_escaped(code: int) -> None:
    text = f"file{chr(code)}gnp.exe"
    assert escape_text(text) == f"file\\u{code:04x}gnp.exe"
    assert chr(code) not in json_line({"seq": 1, "ts": "t", "stream": "stdout", "text": text})
    assert chr(code) not in LineRenderer(colour=True).render(
        {"seq": 1, "ts": "t", "stream": "stdout", "text": text})


ATTRIBUTES = [
    pytest.param("\x1b[1;35m[CMD] /op attacker", "\x1b[35m[CMD] /op attacker", id="bold"),
    pytest.param("\x1b[4mu", "u", id="underline"),
    pytest.param("\x1b[5m\x1b[6mb", "b", id="blink"),
    pytest.param("\x1b[7;33m vsmanager ", "\x1b[33m vsmanager ", id="inverse"),
    pytest.param("\x1b[8mhidden", "hidden", id="conceal"),
    pytest.param("\x1b[2;3;9;21;53mx", "x", id="dim-italic-strike-overline"),
    pytest.param("\x1b[38;2;1;2;3;7mx", "\x1b[38;2;1;2;3mx", id="inverse-after-rgb"),
    pytest.param("\x1b[38;5;1;1mx", "\x1b[38;5;1mx", id="bold-after-256"),
    pytest.param("\x1b[38;5mx", "x", id="truncated-256"),
    pytest.param("\x1b[4:3mx", "x", id="curly-underline"),
    pytest.param("\x1b[38:2::9:9:9mx", "\x1b[38:2::9:9:9mx", id="colon-rgb"),
]


@pytest.mark.parametrize(("text", "shown"), ATTRIBUTES)
def test_game_text_keeps_its_colours_but_no_attributes(text: str, shown: str) -> None:
    assert escape_text(text) == shown


_SGR_IN_OUTPUT = re.compile(r"\x1b\[([0-9;:]*)m")


def _attributes(params: str) -> set[str]:
    """The SGR parameters in ``params`` that are not colours (a rough reading, enough here)."""
    parts = [p for p in params.split(";") if p]
    skip = 0
    found = set()
    for i, part in enumerate(parts):
        if skip:
            skip -= 1
            continue
        if part == "38":
            skip = 2 if parts[i + 1] == "5" else 4
            continue
        if part == "48":  # a background: not allowed either
            found.add(part)
            skip = 2 if parts[i + 1] == "5" else 4
            continue
        if ":" in part or int(part) in (0, 39, 49) or 30 <= int(part) <= 37 or 90 <= int(part) <= 97:
            continue
        found.add(part)
    return found


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(
    st.text(alphabet="\x1b[;:0123456789mAB \x07\u202e", max_size=12),
    st.sampled_from(["\x1b[1m", "\x1b[7;36m", "\x1b[38;5;1;8m", "\x1b[;1m", "\x1b[01m",
                    "\x1b[46;30m", "\x1b[48;5;6m", "\x1b[104m"]),
), max_size=8).map("".join))
def test_no_game_text_renders_with_an_attribute(text: str) -> None:
    rendered = LineRenderer(colour=True).render({"seq": 1, "ts": "t", "stream": "stdout",
                                                 "text": text})
    for params in _SGR_IN_OUTPUT.findall(rendered):
        assert not _attributes(params), (text, rendered)


def _line(stream: str, text: str, **extra: object) -> dict[str, object]:
    return {"seq": 1, "ts": "t", "stream": stream, "text": text, **extra}


def test_command_echo_and_system_lines_carry_marks_game_text_cannot_make() -> None:
    renderer = LineRenderer(colour=True)
    echo = renderer.render(_line("command", "/op attacker"))
    system = renderer.render(_line("system", "server stopped by admin"))
    assert echo == "\x1b[1;7;35m CMD \x1b[0m \x1b[1;35m/op attacker\x1b[0m"
    assert system == "\x1b[1;7;33m vsmanager \x1b[0m \x1b[1;33mserver stopped by admin\x1b[0m"
    forged_echo = renderer.render(_line("stdout", "\x1b[1;7;35m CMD \x1b[0m \x1b[1;35m/op attacker"))
    forged_system = renderer.render(_line("stdout", "\x1b[36m[vsmanager] server stopped by admin"))
    assert forged_echo != echo and "\x1b[1" not in forged_echo and "7;" not in forged_echo
    assert forged_system != system and "\x1b[1" not in forged_system


def test_marks_without_colours_are_plain_labels() -> None:
    renderer = LineRenderer()
    assert renderer.render(_line("command", "/help")) == "[CMD] /help"
    assert renderer.render(_line("system", "server started (pid 7)")) == (
        "[vsmanager] server started (pid 7)")


def test_command_echo_names_who_ran_it() -> None:
    line = _line("command", "/stop", by="alice")
    assert LineRenderer().render(line) == "[CMD] alice ran /stop"
    assert "alice ran /stop" in LineRenderer(colour=True).render(line)
    hostile = LineRenderer(colour=True).render(_line("command", "/x", by="\x1b[8mbob\u202e"))
    assert "\\x1b[8mbob\\u202e ran /x" in hostile
    assert json.loads(json_line(line))["by"] == "alice"
    assert "by" not in json.loads(json_line(_line("command", "/stop")))


def test_notices_are_bold_on_a_terminal_only() -> None:
    assert notice("server stopped") == "vsmanager: server stopped"
    assert notice("x\x1b[2J", colour=True) == "\x1b[1mvsmanager:\x1b[0m x\\x1b[2J"


def test_escape_text_without_colours_escapes_sgr_too() -> None:
    assert escape_text("\x1b[31mred", keep_colours=False) == "\\x1b[31mred"


def test_overlong_sgr_is_escaped() -> None:
    text = "\x1b[" + "1;" * 40 + "m"
    assert "\x1b" not in escape_text(text)


def test_renderer_marks_commands_and_adds_timestamps() -> None:
    renderer = LineRenderer(timestamps=True)
    line = {"seq": 7, "ts": "2026-01-02T03:04:05.000006Z", "stream": "command", "text": "/help"}
    assert renderer.render(line) == "2026-01-02T03:04:05.000006Z [CMD] /help"


def test_renderer_resets_colours_a_line_left_open_on_a_terminal() -> None:
    line = {"seq": 1, "ts": "t", "stream": "stdout", "text": "\x1b[31mred forever"}
    assert LineRenderer(colour=True).render(line).endswith("\x1b[0m")
    assert LineRenderer(colour=False).render(line) == "\x1b[31mred forever"


def test_raw_renderer_prints_the_text_exactly() -> None:
    line = {"seq": 1, "ts": "t", "stream": "stdout", "text": "\x1b]0;x\x07"}
    assert LineRenderer(raw=True).render(line) == "\x1b]0;x\x07"


def test_json_line_is_exact_and_safe_to_print() -> None:
    text = "a\x1b]0;x\x07 \x9b \u202e ü \"q\""
    line = {"seq": 3, "ts": "t", "stream": "stderr", "text": text, "extra": 1}
    encoded = json_line(line)
    assert json.loads(encoded) == {"seq": 3, "ts": "t", "stream": "stderr", "text": text}
    assert not any(c in encoded for c in "\x1b\x07\x9b\u202e")
    assert "ü" in encoded


def test_renderer_filters_streams() -> None:
    renderer = LineRenderer(streams=parse_streams("stderr,system"))
    lines = [{"seq": i, "ts": "t", "stream": s, "text": s}
             for i, s in enumerate(["stdout", "stderr", "command", "system"])]
    assert renderer.render_all(lines) == ["stderr", "[vsmanager] system"]


@pytest.mark.parametrize("value", ["", "stdout,bogus", ",,"])
def test_parse_streams_refuses_unknown_names(value: str) -> None:
    with pytest.raises(ValueError, match="choose from"):
        parse_streams(value)


def _lines(*seqs: int) -> list[dict[str, object]]:
    return [{"seq": s, "ts": "t", "stream": "stdout", "text": str(s)} for s in seqs]


def test_resume_drops_lines_already_delivered() -> None:
    resume = Resume(after=5)
    fresh, gap = resume.accept(_lines(4, 5, 6, 7))
    assert [line["seq"] for line in fresh] == [6, 7]
    assert gap is None
    assert resume.last_seq == 7


def test_resume_reports_an_unannounced_jump_as_a_gap() -> None:
    resume = Resume(after=5)
    fresh, gap = resume.accept(_lines(9, 10))
    assert [line["seq"] for line in fresh] == [9, 10]
    assert gap == Gap(6, 8) and gap.count == 3
    assert resume.last_seq == 10


def test_resume_gap_frame_counts_only_what_was_not_delivered() -> None:
    resume = Resume(after=10)
    assert resume.skip(Gap(5, 9)) is None
    assert resume.skip(Gap(8, 20)) == Gap(11, 20)
    assert resume.last_seq == 20


def test_resume_after_vsmanager_restart_takes_the_next_lines_afresh() -> None:
    resume = Resume(after=500, console_id="old")
    resume.restart()
    assert resume.query() == {}  # a fresh connection: no seq of the old numbering
    fresh, gap = resume.accept(_lines(40, 41))
    assert [line["seq"] for line in fresh] == [40, 41] and gap is None
    assert resume.query() == {"after": "41"}
    resume.identify("new")
    assert resume.query() == {"after": "41", "console_id": "new"}


def test_resume_asks_for_its_numbering_and_knows_another() -> None:
    resume = Resume(after=9)
    assert resume.query() == {"after": "9"}
    assert not resume.is_other_numbering("abc")  # not known yet: nothing to compare
    resume.identify("abc")
    resume.identify("def")  # the first one named is the one followed
    assert resume.query() == {"after": "9", "console_id": "abc"}
    assert resume.is_other_numbering("def") and not resume.is_other_numbering("abc")
    assert not resume.is_other_numbering(None)


def test_backoff_doubles_up_to_the_cap_and_resets() -> None:
    backoff = Backoff(first=1.0, cap=4.0)
    delays = [backoff.next_delay() for _ in range(5)]
    assert all(0.8 * c <= d <= c for d, c in zip(delays, [1, 2, 4, 4, 4], strict=True))
    backoff.reset()
    assert backoff.next_delay() <= 1.0


def test_endpoint_prefers_the_argument_then_the_environment(tmp_path: Path) -> None:
    env = {"VS_URL": "http://example.test:9/", "VS_API_KEY": "from-env",
           "XDG_CONFIG_HOME": str(tmp_path)}
    endpoint = resolve_endpoint(None, None, None, env)
    assert (endpoint.url, endpoint.key) == ("http://example.test:9", "from-env")
    assert endpoint.console_ws == "ws://example.test:9/api/v1alpha1/console/ws"
    assert resolve_endpoint("https://h/vs", "arg", None, env).key == "arg"
    assert resolve_endpoint("https://h/vs", "k", None, env).console_ws.startswith("wss://h/vs/")
    assert "from-env" not in repr(endpoint)


def test_endpoint_reads_the_key_file_in_the_config_dir(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    key_file = config_dir(env) / "api-key"
    key_file.parent.mkdir()
    key_file.write_text("from-file\n")
    os.chmod(key_file, 0o600)
    endpoint = resolve_endpoint(None, None, None, env)
    assert endpoint.key == "from-file" and endpoint.warning is None
    os.chmod(key_file, 0o644)
    assert "chmod 600" in (resolve_endpoint(None, None, None, env).warning or "")


@pytest.mark.parametrize(
    ("url", "key", "message"),
    [
        pytest.param("ftp://x", "k", "http:// or https://", id="scheme"),
        pytest.param("http://x?api_key=1", "k", "query", id="query"),
        pytest.param(None, None, "no API key", id="no-key"),
        pytest.param(None, "clé", "printable ASCII", id="non-ascii-key"),
    ],
)
def test_endpoint_errors_say_what_to_do(
    tmp_path: Path, url: str | None, key: str | None, message: str
) -> None:
    with pytest.raises(EndpointError, match=message):
        resolve_endpoint(url, key, None, {"XDG_CONFIG_HOME": str(tmp_path)})


@pytest.mark.parametrize(
    ("typed", "offered"),
    [
        pytest.param("/ann", ["/announce "], id="command"),
        pytest.param("/list c", ["clients "], id="sub-command"),
        pytest.param("/time s", ["set ", "speed ", "stop "], id="several"),
        pytest.param("/announce hel", [], id="free-text"),
    ],
)
def test_completer_offers_vintage_story_commands(typed: str, offered: list[str]) -> None:
    completer = CommandCompleter(VS_COMMANDS)
    found = completer.get_completions(Document(typed), CompleteEvent(completion_requested=True))
    assert [c.text for c in found] == offered
