"""No known key reaches the log or the audit file: named keys (known only by their hash)
and the environment's, sent in a path, a query, a command or a header, in any encoding."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import pytest

from harness import TIME_SCALE, VsManager, run_vsmanager, without_privileges
from vsmanager.access.keys import hash_key
from vsmanager.access.redaction import KeyRedactor, candidates, spellings

ALICE = "aL1ce-named-key_for-tests-0123456"
# Printable ASCII without whitespace: a key may hold " and \ (the audit file missed those).
QUOTED = 'adm"in\\key-with-quote-0123456789'
B64 = "Zm9v+YmFy/YmF6=cXV4LWtleS0xMjM0NTY="


def _redactor() -> KeyRedactor:
    digests = frozenset({hash_key(ALICE), hash_key(B64)})
    return KeyRedactor([QUOTED], lambda: digests)


@pytest.mark.parametrize("spelling", [
    ALICE, urllib.parse.quote(ALICE, safe=""), "".join(f"%{b:02X}" for b in ALICE.encode()),
    urllib.parse.quote(urllib.parse.quote(ALICE, safe=""), safe=""), json.dumps(ALICE)[1:-1],
    B64, urllib.parse.quote(B64, safe=""), QUOTED, json.dumps(QUOTED)[1:-1],
    json.dumps(json.dumps(QUOTED))[1:-1], repr(QUOTED)[1:-1], urllib.parse.quote(QUOTED),
], ids=["named", "named-percent", "named-all-percent", "named-percent-twice", "named-json", "base64",
        "base64-percent", "held", "held-json", "held-json-twice", "held-repr", "held-percent"])
@pytest.mark.parametrize("context", ["GET /api/v1alpha1/x/{}/y HTTP/1.1", "/ws?q={}&a=1",
                                     '{{"command": "/say {}!"}}', "path=/{}.json", "{}"])
def test_a_known_key_is_gone_in_every_spelling(spelling: str, context: str) -> None:
    line = context.format(spelling)
    clean = _redactor()(line)
    assert spelling not in clean and "[redacted]" in clean, clean
    for key in (ALICE, B64, QUOTED):
        assert key not in urllib.parse.unquote(clean)


def test_harmless_text_is_left_alone() -> None:
    line = ('{"ts": "2026-12-06T20:50:33.123456Z", "event": "http_request", '
            '"path": "/api/v1alpha1/console/history?after=5"}')
    assert _redactor()(line) == line


def test_candidates_cut_a_path_at_its_slashes() -> None:
    found = set(candidates(f"/api/v1alpha1/console/{ALICE}/history.json"))
    assert ALICE in found and B64 not in found


def test_spellings_do_not_match_a_different_key() -> None:
    assert spellings(ALICE).search(ALICE.replace("0", "1")) is None


def test_alice_and_quoted_keys_never_reach_the_log_or_the_audit_file(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"version": 1, "keys": [
        {"name": "alice", "role": "admin", "created": "2026-12-01T22:00:00Z",
         "sha256": hashlib.sha256(ALICE.encode()).hexdigest()}]}))
    audit = tmp_path / "audit.jsonl"
    with run_vsmanager(keys_file=keys, audit_log=audit, api_key_admin=QUOTED) as vsm:
        _wait_until(lambda: _state(vsm, ALICE) == "running")
        for key in (ALICE, QUOTED):
            with vsm.client(key) as client:
                client.get(f"/console/history/{key}")
                client.get(f"/console/history/{urllib.parse.quote(key, safe='')}")
                client.get("/server/status", params={"q": key})
                client.get("/server/status", headers={"X-Forwarded-For": key, "Referer": key})
                client.post("/console/command", json={"command": f"/say {key} and {key}"})
            with vsm.client(None) as client:  # refused: the failure is logged and audited
                client.get("/server/status", headers={"Authorization": f"Bearer {key}x"})
                client.get(f"/console/history?api_key={key}")
        _wait_until(lambda: vsm.log_text().count("console_command") >= 2
                    and vsm.log_text().count("auth_failed") >= 4)
        log = vsm.log_text()
    records = audit.read_text()
    assert records.count('"action": "command"') == 2 and '"name": "alice"' in records
    for text in (log, records):
        decoded = urllib.parse.unquote(text)
        for key in (ALICE, QUOTED):
            assert key not in text and key not in decoded
            assert json.dumps(key)[1:-1] not in text


def test_an_unwritable_audit_log_ends_serve_with_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    env = {"VS_API_KEY_ADMIN": "admin-key-for-the-audit-test-0123", "VS_SERVER_COMMAND": "true",
           "VS_AUDIT_LOG": str(folder / "audit.jsonl"), "PATH": "/usr/bin:/bin"}
    # Without capabilities: root would write anywhere.
    result = subprocess.run([*without_privileges(), sys.executable, "-m", "vsmanager", "serve", "--port", "0"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "VS_AUDIT_LOG: cannot append to" in result.stderr and "Permission denied" in result.stderr
    assert "Traceback" not in result.stderr


def _state(vsm: VsManager, key: str) -> object:
    with vsm.client(key) as client:
        return client.get("/server/status").json().get("state")


def _wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout * TIME_SCALE
    while not condition():
        assert time.monotonic() < deadline, "condition never met"
        time.sleep(0.05)
