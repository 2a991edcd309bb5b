"""The final log line: no key in it, in any encoding; no field can start a line of its own."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
import structlog
import websockets.sync.client as ws_client
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import ADMIN_KEY, MONITOR_KEY, VsManager, run_vsmanager
from vsmanager.ops.logs import (
    ConsoleFormatter,
    JsonFormatter,
    Redactor,
    configure_logging,
    escape,
    resolve_format,
)

SECRETS = [ADMIN_KEY, MONITOR_KEY]
PROPERTY = settings(max_examples=300, deadline=None, database=None)


def redact(line: str) -> str:
    return Redactor(SECRETS)(line)


@pytest.mark.parametrize(
    "line",
    [
        f'"GET /api/v1alpha1/console/ws?api_key={ADMIN_KEY}&format=json HTTP/1.1"',
        f"/ws?api%5Fkey={ADMIN_KEY}",
        f"/ws?API%5fKEY={ADMIN_KEY}",
        "/ws?%61pi_key=anything-at-all-here",
        "/ws?ticket=abc123def456&format=json",
        f"/ws?format=json&x={ADMIN_KEY.replace('-', '%2D')}",
        f"/ws?x=%{ADMIN_KEY.encode().hex('%').upper()}",
        f"command=\"/say my key is {ADMIN_KEY}\"",
        json.dumps({"command": f"/say {MONITOR_KEY}!"}),
        f"X-API-Key: {ADMIN_KEY}",
        "authorization: Bearer some-unknown-token-value",
    ],
    ids=["query", "percent-name", "percent-name-case", "percent-letter", "ticket", "percent-value",
         "all-percent", "in-command", "in-json", "header", "bearer"],
)
def test_credentials_are_redacted_from_the_final_line(line: str) -> None:
    clean = redact(line)
    assert ADMIN_KEY not in clean and MONITOR_KEY not in clean
    assert "[redacted]" in clean
    for leak in ("anything-at-all-here", "abc123def456", "some-unknown-token-value",
                 ADMIN_KEY.replace("-", "%2D")):
        assert leak not in clean


def test_harmless_lines_are_left_alone() -> None:
    line = '"GET /api/v1alpha1/console/history?after=5&limit=100 HTTP/1.1" 200 path=/a%20b'
    assert redact(line) == line


def test_keys_known_only_by_hash_are_recognised() -> None:
    unknown = "k3y-from-a-keys-file-0123456789"
    digests = frozenset({hashlib.sha256(unknown.encode()).digest()})
    clean = Redactor([], lambda: digests)(f"command=/say {unknown}")
    assert unknown not in clean


@PROPERTY
@given(prefix=st.text(max_size=30), suffix=st.text(max_size=30),
       encode=st.sampled_from(["raw", "percent", "json"]))
def test_a_known_key_never_survives_redaction(prefix: str, suffix: str, encode: str) -> None:
    key = {"raw": ADMIN_KEY, "percent": "".join(f"%{b:02X}" for b in ADMIN_KEY.encode()),
           "json": json.dumps(ADMIN_KEY)[1:-1]}[encode]
    for formatter in (JsonFormatter, ConsoleFormatter):
        record = logging.LogRecord("vsmanager.test", logging.INFO, "", 0, "event", None, None)
        record.command = prefix + key + suffix
        line = formatter(Redactor(SECRETS)).format(record)
        assert ADMIN_KEY not in line
        assert key not in line


@pytest.mark.parametrize(
    "value", ["a\nb", "a\rb", "a\u2028b", "a\u2029b", "a\x85b", "a\x0bb", "a\x1b[2Kb",
              "a\u202eb", "a\u00a0b"],
    ids=["lf", "cr", "line-sep", "para-sep", "nel", "vt", "escape", "bidi", "nbsp"],
)
def test_no_field_can_break_or_fake_a_line(value: str) -> None:
    record = logging.LogRecord("vsmanager.test", logging.INFO, "", 0, "console_command\nforged", None, None)
    record.command = value
    for formatter in (JsonFormatter(Redactor()), ConsoleFormatter(Redactor())):
        line = formatter.format(record)
        assert len(line.splitlines()) == 1, line
        assert line.isprintable(), line
    assert json.loads(JsonFormatter(Redactor()).format(record))["command"] == value


@PROPERTY
@given(value=st.text())
def test_escape_leaves_only_printable_text(value: str) -> None:
    assert escape(value).isprintable()


def test_json_lines_carry_a_stable_event_with_fields() -> None:
    stream = io.StringIO()
    configure_logging("info", SECRETS, "json")
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    structlog.get_logger("vsmanager.test").info("console_command", client="127.0.0.1:5", command="/help")
    entry = json.loads(stream.getvalue().splitlines()[-1])
    assert entry["event"] == "console_command"
    assert entry["client"] == "127.0.0.1:5" and entry["command"] == "/help"
    assert entry["level"] == "info" and entry["ts"].endswith("Z")


def test_auto_format_is_console_on_a_terminal_and_json_otherwise() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert resolve_format("auto", Tty()) == "console"
    assert resolve_format("auto", io.StringIO()) == "json"
    assert resolve_format("console", io.StringIO()) == "console"


@pytest.fixture(scope="module")
def vsm() -> Iterator[VsManager]:
    with run_vsmanager(log_format="json", log_level="info") as manager:
        manager.wait_for_state("running")
        yield manager


def test_a_real_server_logs_json_lines_without_keys(vsm: VsManager) -> None:
    with ws_client.connect(vsm.ws_url(), open_timeout=5) as ws:
        ws.send(json.dumps({"command": f"/say {ADMIN_KEY}", "type": "command"}))
        ws.recv(timeout=5)
    url = f"{vsm.api}/console/ws".replace("http", "http") + f"?api%5Fkey={ADMIN_KEY}"
    httpx.get(url, timeout=5)
    httpx.get(f"{vsm.url}/no%0Aforged%E2%80%A8line", timeout=5)
    vsm.wait_for_line("/say")
    text = vsm.log_text()
    assert ADMIN_KEY not in text
    events = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert any(e["event"] == "console_command" for e in events)
    assert any(e["event"] == "http_request" and "forged" in e["path"] for e in events)
    assert all(set(e) >= {"ts", "level", "logger", "event"} for e in events)


def test_vs_log_level_warning_hides_info(tmp_path: object) -> None:
    with run_vsmanager(autostart=False, log_level="warning") as manager:
        httpx.get(f"{manager.url}/healthz", timeout=5)
        assert "http_request" not in manager.log_text()


def test_a_field_named_like_a_record_attribute_is_logged_not_raised() -> None:
    stream = io.StringIO()
    configure_logging("info", [], "json")
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    structlog.get_logger("vsmanager.test").error("autostart_failed", message="could not start")
    entry = json.loads(stream.getvalue().splitlines()[-1])
    assert entry["event"] == "autostart_failed" and entry["message_"] == "could not start"
