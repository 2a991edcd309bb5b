"""The HTTP API on a real vsmanager process: auth, lifecycle, history, commands, bad input."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from harness import ADMIN_KEY, MONITOR_KEY, VsManager, run_vsmanager, simulator_command

ADMIN_ONLY = [
    ("POST", "/server/start"),
    ("POST", "/server/stop"),
    ("POST", "/server/restart"),
    ("GET", "/console/history"),
    ("POST", "/console/command"),
]


@pytest.fixture(scope="module")
def shared() -> Iterator[VsManager]:
    """One running vsmanager for the read-mostly tests of this module."""
    with run_vsmanager(simulator_command("--events-per-second", "20")) as manager:
        manager.wait_for_state("running")
        yield manager


# -- auth -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": "wrong-key-wrong-key-wrong"}, {"X-API-Key": ""}, {"X-API-Key": ADMIN_KEY[:-1]}],
    ids=["missing", "wrong", "empty", "prefix"],
)
def test_bad_key_is_refused_with_401(shared: VsManager, headers: dict[str, str]) -> None:
    response = httpx.get(f"{shared.api}/server/status", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert response.json()["message"]


def test_non_ascii_key_is_a_401_not_a_500(shared: VsManager) -> None:
    response = httpx.get(f"{shared.api}/server/status", headers=[(b"X-API-Key", b"\xff\xfe\xc3\xa9")])
    assert response.status_code == 401


@pytest.mark.parametrize(("method", "path"), ADMIN_ONLY, ids=[p for _, p in ADMIN_ONLY])
def test_monitor_is_refused_admin_endpoints_with_403(shared: VsManager, method: str, path: str) -> None:
    response = httpx.request(method, f"{shared.api}{path}", headers={"X-API-Key": MONITOR_KEY},
                             json={"command": "/stop"} if path.endswith("command") else None)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert shared.status()["state"] == "running"  # nothing happened


def test_monitor_reads_status(shared: VsManager) -> None:
    with shared.client(MONITOR_KEY) as client:
        status = client.get("/server/status").json()
    assert set(status) >= {"state", "pid", "uptime_s", "exit_code", "started_at", "restarts", "console_id"}
    assert status["state"] == "running" and status["pid"] > 0


def test_health_and_readiness_need_no_key(shared: VsManager) -> None:
    health = httpx.get(f"{shared.url}/healthz")
    assert health.status_code == 200 and health.json()["server"]["state"] == "running"
    assert httpx.get(f"{shared.url}/readyz").status_code == 200


def test_openapi_document_is_served(shared: VsManager) -> None:
    spec = httpx.get(f"{shared.url}/openapi.json").json()
    assert "/api/v1alpha1/console/history" in spec["paths"]
    assert httpx.get(f"{shared.url}/docs").status_code == 200


def test_unknown_path_has_the_error_shape(shared: VsManager) -> None:
    response = httpx.get(f"{shared.api}/nope", headers={"X-API-Key": ADMIN_KEY})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# -- history ----------------------------------------------------------------------------------


def test_history_gives_the_newest_lines_oldest_first(shared: VsManager) -> None:
    body = shared.history(lines=5)
    seqs = [line["seq"] for line in body["lines"]]
    assert len(seqs) == 5 and seqs == sorted(seqs) and seqs == list(range(seqs[0], seqs[0] + 5))
    assert body["first_seq"] <= seqs[0] and body["last_seq"] >= seqs[-1]
    assert set(body["lines"][0]) == {"seq", "ts", "stream", "text"}
    assert body["lines"][0]["ts"].endswith("Z")


def test_history_pages_forward_with_after_and_limit(shared: VsManager) -> None:
    first = shared.history(after=0, limit=3)["lines"]
    second = shared.history(after=first[-1]["seq"], limit=3)["lines"]
    assert [line["seq"] for line in first + second] == list(range(1, 7))


def test_history_after_the_newest_line_is_empty(shared: VsManager) -> None:
    last = shared.history(lines=1)["last_seq"]
    assert shared.history(after=last + 1000)["lines"] == []


@pytest.mark.parametrize(
    "params",
    [{"lines": -1}, {"lines": "ten"}, {"lines": 10_001}, {"after": -5}, {"after": "x"},
     {"limit": 0}, {"limit": 99_999}, {"lines": "1e3"}, {"after": "9" * 40}],
    ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items())[:30],
)
def test_history_rejects_bad_values_with_422(shared: VsManager, params: dict[str, object]) -> None:
    with shared.client() as client:
        response = client.get("/console/history", params=params)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_request" and body["message"]


# -- commands ---------------------------------------------------------------------------------


def test_command_is_echoed_and_answered(shared: VsManager) -> None:
    with shared.client() as client:
        response = client.post("/console/command", json={"command": "/time"})
    assert response.status_code == 202
    seq = response.json()["seq"]
    shared.wait_for_line("Server time is")
    lines = shared.history(after=seq - 1, limit=50)["lines"]
    assert (lines[0]["stream"], lines[0]["text"]) == ("command", "/time")
    assert any("Server time is" in line["text"] for line in lines[1:])


@pytest.mark.parametrize(
    "command",
    ["/help\n/stop", "/help\r/stop", "/say\thi", "/x\x00", "/x\x1b[2J", "/x\x7f", "/x\x85",
     "", "   ", "x" * 1001],
    ids=["lf", "cr", "tab", "nul", "esc", "del", "c1-nel", "empty", "blank", "too-long"],
)
def test_dangerous_or_malformed_commands_are_refused(shared: VsManager, command: str) -> None:
    before = shared.history(lines=1)["last_seq"]
    with shared.client() as client:
        response = client.post("/console/command", json={"command": command})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    recent = shared.history(after=before, limit=1000)["lines"]
    assert not [line for line in recent if line["stream"] == "command"]  # nothing was sent


@pytest.mark.parametrize(
    ("body", "content_type"),
    [("not json", "application/json"), ('{"command": 5}', "application/json"),
     ('{"cmd": "/help"}', "application/json"), ("[1,2]", "application/json"),
     ('{"command": "/help"}', "text/plain"), ("", "application/json"),
     # Longer than any command, within VS_HTTP_MAX_BODY_BYTES (larger is 413: test_transport).
     ('{"command": "' + "x" * 60_000 + '"}', "application/json")],
    ids=["invalid-json", "number", "wrong-field", "array", "text-plain", "empty", "huge"],
)
def test_malformed_command_bodies_get_422(shared: VsManager, body: str, content_type: str) -> None:
    with shared.client() as client:
        response = client.post("/console/command", content=body,
                               headers={"Content-Type": content_type})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"


def test_unicode_command_is_delivered_intact(shared: VsManager) -> None:
    with shared.client() as client:
        assert client.post("/console/command",
                           json={"command": "/announce Grüße 🌲"}).status_code == 202
    shared.wait_for_line("Server: Grüße 🌲")


# -- lifecycle (own server per test: they change its state) ------------------------------------


def test_start_while_running_is_a_409() -> None:
    with run_vsmanager() as vsm:
        vsm.wait_for_state("running")
        with vsm.client() as client:
            response = client.post("/server/start")
        assert response.status_code == 409
        assert response.json()["code"] == "already_running"


def test_stop_answers_at_once_then_the_server_stops() -> None:
    with run_vsmanager(simulator_command("--save-seconds", "1.5")) as vsm:
        vsm.wait_for_state("running")
        with vsm.client() as client:
            response = client.post("/server/stop")
            assert response.status_code == 202
            assert response.json()["state"] == "stopping"  # the save is still under way
            assert client.post("/server/stop").json()["code"] == "stopping"
        status = vsm.wait_for_state("stopped")
        assert status["exit_code"] == 0 and status["pid"] is None
        texts = [line["text"] for line in vsm.history(lines=50)["lines"]]
        assert any("Stopped the server!" in t for t in texts)
        with vsm.client() as client:
            refused = client.post("/server/stop")
            assert (refused.status_code, refused.json()["code"]) == (409, "not_running")
            command = client.post("/console/command", json={"command": "/help"})
            assert (command.status_code, command.json()["code"]) == (409, "server_not_running")


def test_start_with_wait_returns_the_running_state() -> None:
    with run_vsmanager(autostart=False) as vsm:
        assert vsm.status()["state"] == "stopped"
        with vsm.client(timeout=30) as client:
            response = client.post("/server/start", params={"wait": 20})
        assert response.status_code == 202
        assert response.json()["state"] == "running"


def test_restart_counts_and_keeps_numbering() -> None:
    with run_vsmanager() as vsm:
        vsm.wait_for_state("running")
        last_before = vsm.history(lines=1)["last_seq"]
        with vsm.client(timeout=30) as client:
            response = client.post("/server/restart", params={"wait": 20})
        assert response.status_code == 202
        status = response.json()
        assert status["state"] == "running" and status["restarts"] == 1
        seqs = [line["seq"] for line in vsm.history(lines=10_000)["lines"]]
        assert seqs == list(range(1, len(seqs) + 1)) and seqs[-1] > last_before


def test_crash_leaves_the_api_serving_with_history() -> None:
    with run_vsmanager(simulator_command("--crash-after", "0.5", "--crash-code", "7")) as vsm:
        status = vsm.wait_for_state("crashed")
        assert status["exit_code"] == 7
        texts = [line["text"] for line in vsm.history(lines=100)["lines"]]
        assert "server exited with code 7; restarting in 5 s, crash 1 of 5 in 10 min" in texts
        assert any("NullReferenceException" in t for t in texts)


def test_keys_never_reach_the_log() -> None:
    with run_vsmanager() as vsm:
        vsm.wait_for_state("running")
        httpx.get(f"{vsm.api}/server/status", headers={"X-API-Key": ADMIN_KEY})
        httpx.get(f"{vsm.api}/console/history", params={"api_key": ADMIN_KEY})
        httpx.get(f"{vsm.api}/server/status", params={"api_key": MONITOR_KEY})
        from websockets.sync.client import connect

        with connect(vsm.ws_url(ADMIN_KEY, format="json"), open_timeout=10) as ws:
            ws.recv(timeout=10)
        log = vsm.log_text()
    assert "console_ws_connected" in log  # the log was written
    assert ADMIN_KEY not in log and MONITOR_KEY not in log
    assert ADMIN_KEY[:8] not in log
