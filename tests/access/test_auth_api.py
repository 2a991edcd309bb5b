"""Named keys, tickets, throttling, command rates, revocation and attribution, on a real
vsmanager (``python -m vsmanager serve``) with real HTTP and WebSocket clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from harness import ADMIN_KEY, MONITOR_KEY, TIME_SCALE, VsManager, run_vsmanager, stop_process
from vsmanager.access.keys import new_record, write_keys_file
from vsmanager.access.roles import Role
from vsmanager.config.settings import load_settings

TIMEOUT = 10 * TIME_SCALE
ALICE_KEY = "alice-key-for-tests-0123456789"
BOB_KEY = "bob-key-for-tests-0123456789ab"
WRONG_KEY = "wrong-key-for-tests-012345678"
# Admin keys of their own for the rate tests, so their budgets are nobody else's.
HTTP_RATE_KEY = "http-rate-key-for-tests-012345"
WS_RATE_KEY = "ws-rate-key-for-tests-01234567"
SHARED_TICKET_TTL = 3


def write_test_keys(path: Path) -> Path:
    write_keys_file(path, [new_record("alice", Role.ADMIN, ALICE_KEY),
                           new_record("bob", Role.MONITOR, BOB_KEY),
                           new_record("http-rate", Role.ADMIN, HTTP_RATE_KEY),
                           new_record("ws-rate", Role.ADMIN, WS_RATE_KEY)])
    return path


@pytest.fixture
def keys_file(tmp_path: Path) -> Path:
    return write_test_keys(tmp_path / "keys")


@contextlib.contextmanager
def run_named(keys_file: Path, audit_log: Path, **settings: object) -> Iterator[VsManager]:
    """vsmanager with a keys file (alice: admin, bob: monitor, ...) and an audit log; its log
    in JSON lines, which log_events reads."""
    settings.setdefault("log_format", "json")
    with run_vsmanager(keys_file=keys_file, audit_log=audit_log, **settings) as vsm:
        vsm.wait_for_state("running")
        yield vsm


@pytest.fixture
def named(keys_file: Path, tmp_path: Path) -> Iterator[VsManager]:
    """A fresh one, for the tests that change keys or the server."""
    with run_named(keys_file, tmp_path / "audit.jsonl") as vsm:
        yield vsm


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VsManager]:
    """One for the tests that change neither keys nor server. Those that fail
    authentications on purpose do it from addresses of their own (127.0.0.N)."""
    directory = tmp_path_factory.mktemp("shared")
    with run_named(write_test_keys(directory / "keys"), directory / "audit.jsonl",
                   ws_ticket_ttl=SHARED_TICKET_TTL) as vsm:
        yield vsm


def client_from(vsm: VsManager, address: str, key: str | None = None) -> httpx.Client:
    headers = {"X-API-Key": key} if key else {}
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=vsm.api, headers=headers, timeout=TIMEOUT, transport=transport)


def ticket_for(vsm: VsManager, key: str) -> str:
    with vsm.client(key) as client:
        response = client.post("/auth/ticket")
    assert response.status_code == 200, response.text
    return str(response.json()["ticket"])


def ws_url(vsm: VsManager, **query: str) -> str:
    text = "&".join(f"{k}={v}" for k, v in {"format": "json", **query}.items())
    return f"ws://127.0.0.1:{vsm.port}/api/v1alpha1/console/ws?{text}"


def open_ws(vsm: VsManager, address: str = "127.0.0.1", headers: dict[str, str] | None = None,
            **query: str) -> Any:
    return connect(ws_url(vsm, **query), open_timeout=TIMEOUT, close_timeout=2, max_size=None,
                   additional_headers=headers, local_addr=(address, 0))


async def closed_with(ws: ClientConnection, timeout: float = TIMEOUT) -> tuple[int | None, str | None]:
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()
    return ws.close_code, ws.close_reason


async def frames_until(ws: ClientConnection, done: Any, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while not done(frames):
            frames.append(json.loads(await ws.recv()))
    return frames


def lines_of(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for frame in frames if frame["type"] == "lines" for line in frame["lines"]]


def audit_entries(vsm: VsManager) -> list[dict[str, Any]]:
    path = Path(vsm.env["VS_AUDIT_LOG"])
    return [json.loads(line) for line in path.read_text().splitlines()]


def log_events(vsm: VsManager, event: str) -> list[dict[str, Any]]:
    """The log's records of one event (the log is JSON lines when not on a terminal)."""
    found = []
    for line in vsm.log_text().splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict) and record.get("event") == event:
                found.append(record)
    return found


def wait_until(check: Any, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


# -- named keys -------------------------------------------------------------------------------


def test_file_keys_and_environment_keys_all_work(shared: VsManager) -> None:
    for key in (ALICE_KEY, BOB_KEY, ADMIN_KEY, MONITOR_KEY):
        with shared.client(key) as client:
            assert client.get("/server/status").status_code == 200
    with shared.client(BOB_KEY) as client:
        assert client.post("/server/start").status_code == 403


def test_a_keys_file_alone_is_enough_to_serve(keys_file: Path) -> None:
    with run_vsmanager(keys_file=keys_file, api_key_admin="", api_key_monitor="") as vsm:
        with vsm.client(ALICE_KEY) as client:
            assert client.get("/server/status").status_code == 200
        with vsm.client(ADMIN_KEY) as client:
            assert client.get("/server/status").status_code == 401


def test_a_weak_environment_key_stops_serve_naming_the_variable() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VS_")}
    env.update(VS_API_KEY_ADMIN="a" * 16, VS_SERVER_COMMAND="true")
    done = subprocess.run([sys.executable, "-m", "vsmanager", "serve", "--port", "0"], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "VS_API_KEY_ADMIN: is too weak" in done.stderr and "a" * 16 not in done.stderr


@pytest.mark.parametrize(
    "header",
    [b"X-API-Key: \t " + ALICE_KEY.encode() + b" \t", b"Authorization: Bearer   " + ALICE_KEY.encode() + b"  "],
    ids=["x-api-key", "bearer"],
)
def test_whitespace_around_a_key_in_a_header_is_trimmed(shared: VsManager, header: bytes) -> None:
    request = (b"GET /api/v1alpha1/server/status HTTP/1.1\r\nHost: 127.0.0.1\r\n" + header
               + b"\r\nConnection: close\r\n\r\n")
    with socket.create_connection(("127.0.0.1", shared.port), timeout=TIMEOUT) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]


def test_bearer_authorization_is_accepted(shared: VsManager) -> None:
    with httpx.Client(base_url=shared.api, timeout=TIMEOUT,
                      headers={"Authorization": f"Bearer {ALICE_KEY}"}) as client:
        assert client.get("/server/status").status_code == 200
        assert client.post("/auth/ticket").status_code == 200


# -- tickets ----------------------------------------------------------------------------------


async def test_a_ticket_opens_the_console_once(shared: VsManager) -> None:
    with shared.client(ALICE_KEY) as client:
        answer = client.post("/auth/ticket").json()
    assert answer["expires_in"] == SHARED_TICKET_TTL and len(answer["ticket"]) >= 32
    assert (answer["name"], answer["role"]) == ("alice", "admin")
    async with open_ws(shared, ticket=answer["ticket"]) as ws:
        frames = await frames_until(ws, lambda f: bool(f))
        assert frames[0]["type"] == "status"
    async with open_ws(shared, ticket=answer["ticket"]) as ws:
        assert (await closed_with(ws))[0] == 4001


@pytest.mark.parametrize("ticket", ["", "no-such-ticket", "x" * 300], ids=["empty", "unknown", "long"])
async def test_an_unknown_ticket_closes_4001(shared: VsManager, ticket: str) -> None:
    async with open_ws(shared, ticket=ticket) as ws:
        code, reason = await closed_with(ws)
    assert code == 4001 and reason and "ticket" in reason


async def test_an_expired_ticket_closes_4001(shared: VsManager) -> None:
    ticket = ticket_for(shared, ADMIN_KEY)
    await asyncio.sleep(SHARED_TICKET_TTL + 0.2)
    async with open_ws(shared, ticket=ticket) as ws:
        assert (await closed_with(ws))[0] == 4001


def test_tickets_last_30_seconds_by_default() -> None:
    assert load_settings().ws_ticket_ttl == 30


async def test_a_monitor_ticket_is_refused_by_the_console_with_4003(shared: VsManager) -> None:
    async with open_ws(shared, ticket=ticket_for(shared, BOB_KEY)) as ws:
        assert (await closed_with(ws))[0] == 4003


def test_a_ticket_needs_a_valid_key(shared: VsManager) -> None:
    for key in (None, WRONG_KEY):
        with shared.client(key) as client:
            assert client.post("/auth/ticket").status_code == 401


async def test_the_old_ways_of_sending_a_key_keep_working(shared: VsManager) -> None:
    for opener in (lambda: open_ws(shared, api_key=ALICE_KEY),
                   lambda: open_ws(shared, headers={"X-API-Key": ALICE_KEY})):
        async with opener() as ws:
            assert (await frames_until(ws, bool))[0]["type"] == "status"


# -- throttling -------------------------------------------------------------------------------


def test_twenty_one_failures_block_the_address_but_not_others(shared: VsManager) -> None:
    with client_from(shared, "127.0.0.2", WRONG_KEY) as bad:
        codes = [bad.get("/server/status").status_code for _ in range(21)]
        assert codes == [401] * 20 + [429]
        refused = bad.get("/server/status", headers={"X-API-Key": ADMIN_KEY})
    assert refused.status_code == 429
    assert 55 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["code"] == "too_many_failures"
    with client_from(shared, "127.0.0.3", ADMIN_KEY) as other:
        assert other.get("/server/status").status_code == 200
    failures = [e for e in log_events(shared, "auth_failed") if e["client"].startswith("127.0.0.2:")]
    assert len(failures) == 21
    assert all(e["level"] == "warning" and e["reason"] == "invalid key" for e in failures)


async def test_a_blocked_address_gets_4029_on_the_socket(shared: VsManager) -> None:
    with client_from(shared, "127.0.0.4", WRONG_KEY) as bad:
        for _ in range(21):
            bad.get("/server/status")
    async with open_ws(shared, "127.0.0.4", api_key=ADMIN_KEY) as ws:
        assert (await closed_with(ws))[0] == 4029
    async with open_ws(shared, "127.0.0.5", api_key=ADMIN_KEY) as ws:
        assert (await frames_until(ws, bool))[0]["type"] == "status"


async def test_bad_tickets_count_as_failures(shared: VsManager) -> None:
    codes = []
    for _ in range(21):
        async with open_ws(shared, "127.0.0.6", ticket="guess") as ws:
            codes.append((await closed_with(ws))[0])
    assert codes == [4001] * 20 + [4029]


def test_the_block_ends_after_the_cooldown() -> None:
    with run_vsmanager(auth_failure_limit=2, auth_cooldown=1) as vsm, \
            client_from(vsm, "127.0.0.6", WRONG_KEY) as bad:
        assert [bad.get("/server/status").status_code for _ in range(3)] == [401, 401, 429]
        assert bad.get("/server/status", headers={"X-API-Key": ADMIN_KEY}).status_code == 429
        time.sleep(1.1)
        assert bad.get("/server/status", headers={"X-API-Key": ADMIN_KEY}).status_code == 200


def test_a_flood_of_failures_is_logged_within_a_budget() -> None:
    with run_vsmanager(auth_failure_limit=1_000_000, log_format="json") as vsm, \
            client_from(vsm, "127.0.0.7", WRONG_KEY) as bad:
        started = time.monotonic()
        for _ in range(300):
            bad.get("/server/status")
        elapsed = time.monotonic() - started
        time.sleep(0.2)
        logged = log_events(vsm, "auth_failed")
        assert 50 <= len(logged) <= 50 + 5 * (elapsed + 1)
        bad.get("/server/status")  # after the flood, a line says how many were held back
        time.sleep(1.1)
        bad.get("/server/status")
        wait_until(lambda: any(e.get("suppressed") for e in log_events(vsm, "auth_failed")))


# -- command rate ------------------------------------------------------------------------------


async def test_commands_beyond_the_burst_get_429_with_retry_after(shared: VsManager) -> None:
    headers = {"X-API-Key": HTTP_RATE_KEY}
    # Fewer connections than the per-address cap (its 503s are another test's business).
    limits = httpx.Limits(max_connections=16)
    async with httpx.AsyncClient(base_url=shared.api, headers=headers, timeout=TIMEOUT,
                                 limits=limits) as client:
        started = time.monotonic()
        answers = await asyncio.gather(
            *(client.post("/console/command", json={"command": "/help"}) for _ in range(40)))
        elapsed = time.monotonic() - started
    accepted = [a for a in answers if a.status_code == 202]
    refused = [a for a in answers if a.status_code != 202]
    assert 20 <= len(accepted) <= 20 + 5 * elapsed + 1
    assert refused and all(a.status_code == 429 for a in refused)
    assert all(a.json()["code"] == "rate_limited" and int(a.headers["Retry-After"]) >= 1
               for a in refused)
    with shared.client(ADMIN_KEY) as other:  # another key has its own budget
        assert other.post("/console/command", json={"command": "/help"}).status_code == 202


async def test_commands_beyond_the_burst_get_rate_limited_frames(shared: VsManager) -> None:
    async with open_ws(shared, ticket=ticket_for(shared, WS_RATE_KEY), history_lines="0") as ws:
        await frames_until(ws, bool)
        for _ in range(25):
            await ws.send(json.dumps({"type": "command", "command": "/help"}))
        frames = await frames_until(
            ws, lambda f: sum(x["type"] == "error" for x in f) >= 5)
    errors = [f for f in frames if f["type"] == "error"]
    assert {e["code"] for e in errors} == {"rate_limited"}
    echoes = [line for line in lines_of(frames) if line["stream"] == "command"]
    assert len(echoes) <= 21 and all(e["by"] == "ws-rate" for e in echoes)


# -- attribution and audit --------------------------------------------------------------------


def answered(lines: list[dict[str, Any]], commands: int) -> bool:
    """``commands`` command echoes, and a line from the game after the last of them."""
    echoes = [i for i, line in enumerate(lines) if line["stream"] == "command"]
    return len(echoes) >= commands and any(
        line["stream"] in ("stdout", "stderr") for line in lines[echoes[-1] + 1:])


async def test_command_lines_carry_the_key_name(shared: VsManager) -> None:
    async with open_ws(shared, ticket=ticket_for(shared, ALICE_KEY), history_lines="0") as ws:
        await frames_until(ws, bool)
        await ws.send(json.dumps({"type": "command", "command": "/time"}))
        with shared.client(ADMIN_KEY) as client:
            client.post("/console/command", json={"command": "/help"})
        # Both echoes, and a line the game printed after them (its answers may come later).
        frames = await frames_until(ws, lambda f: answered(lines_of(f), 2))
    echoes = {line["text"]: line for line in lines_of(frames) if line["stream"] == "command"}
    assert echoes["/time"]["by"] == "alice" and echoes["/help"]["by"] == "admin"
    others = [line for line in lines_of(frames) if line["stream"] in ("stdout", "stderr")]
    assert others and all("by" not in line for line in others)
    history = shared.history(lines=1000)["lines"]
    assert any(line.get("by") == "alice" and line["text"] == "/time" for line in history)


def test_lifecycle_actions_name_the_key(named: VsManager) -> None:
    with named.client(ALICE_KEY) as client:
        assert client.post("/server/stop", params={"wait": 10}).status_code == 202
        assert client.post("/server/start").status_code == 202
        named.wait_for_state("running")
        assert client.post("/server/restart", params={"wait": 10}).status_code == 202
    texts = {line["text"]: line for line in named.history(lines=1000)["lines"]
             if line["stream"] == "system"}
    for text in ("alice stopped the server", "alice started the server",
                 "alice restarted the server"):
        assert texts[text]["by"] == "alice"
    actions = [(e["action"], e["name"], e["role"]) for e in audit_entries(named)
               if e["action"] in ("start", "stop", "restart")]
    assert actions == [("stop", "alice", "admin"), ("start", "alice", "admin"),
                       ("restart", "alice", "admin")]


def test_the_audit_log_records_who_did_what_from_where(shared: VsManager) -> None:
    with client_from(shared, "127.0.0.7", WRONG_KEY) as client:
        client.get("/server/status")
    with shared.client(ALICE_KEY) as client:
        client.post("/console/command", json={"command": "/help"})
    path = Path(shared.env["VS_AUDIT_LOG"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    entries = audit_entries(shared)
    failure = next(e for e in entries if e["action"] == "auth_failed"
                   and e["client"].startswith("127.0.0.7:"))
    assert failure["reason"] == "invalid key"
    command = next(e for e in entries if e["action"] == "command" and e["name"] == "alice"
                   and e["via"] == "http")
    assert (command["role"], command["command"]) == ("admin", "/help")
    assert command["client"].startswith("127.0.0.1:")
    assert WRONG_KEY not in path.read_text() and ALICE_KEY not in path.read_text()
    assert "audit" in shared.log_text()


# -- revocation -------------------------------------------------------------------------------


def keys_cli(path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VS_")}
    env["VS_KEYS_FILE"] = str(path)
    return subprocess.run([sys.executable, "-m", "vsmanager", "keys", *args], env=env,
                          capture_output=True, text=True, timeout=30, input=stdin, check=False)


async def test_a_removed_key_is_refused_and_its_sockets_closed_within_5_s(
    named: VsManager, keys_file: Path
) -> None:
    spare = ticket_for(named, ALICE_KEY)
    async with open_ws(named, ticket=ticket_for(named, ALICE_KEY)) as alice, \
            open_ws(named, api_key=ADMIN_KEY) as admin:
        await frames_until(alice, bool)
        await frames_until(admin, bool)
        assert keys_cli(keys_file, "remove", "alice").returncode == 0
        removed_at = time.monotonic()
        code, reason = await closed_with(alice, timeout=5 * TIME_SCALE)
        assert time.monotonic() - removed_at < 5 * TIME_SCALE
        assert (code, reason) == (4001, "key revoked")
        assert not admin.close_code  # other keys' sockets stay
    # The log and the metrics say why it was closed.
    wait_until(lambda: log_events(named, "console_ws_disconnected"))
    assert [e["key_name"] for e in log_events(named, "console_ws_revoked")] == ["alice"]
    assert log_events(named, "console_ws_disconnected")[0]["close_code"] == 4001
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        metrics = await http.get(f"{named.url}/metrics", headers={"X-API-Key": ADMIN_KEY})
    assert 'vsmanager_websocket_clients_closed_total{code="4001"} 1.0' in metrics.text
    with named.client(ALICE_KEY) as client:
        assert client.get("/server/status").status_code == 401
    async with open_ws(named, ticket=spare) as ws:  # its tickets died with it
        assert (await closed_with(ws))[0] == 4001


def test_file_changes_are_seen_without_a_signal(named: VsManager, keys_file: Path) -> None:
    done = keys_cli(keys_file, "add", "carol", "--role", "monitor")
    assert done.returncode == 0, done.stderr
    carol = done.stdout.strip()
    with named.client(carol) as client:
        wait_until(lambda: client.get("/server/status").status_code == 200, 5 * TIME_SCALE)
    assert any(e["action"] == "keys_reloaded" and e["added"] == ["carol"] for e in audit_entries(named))
    # A broken file changes nothing, and the log says why.
    keys_file.write_text("{ this is not json")
    wait_until(lambda: "keys_file_invalid" in named.log_text(), 5 * TIME_SCALE)
    with named.client(ALICE_KEY) as client:
        assert client.get("/server/status").status_code == 200


def test_sighup_reloads_a_file_whose_change_the_poll_cannot_see(named: VsManager, keys_file: Path) -> None:
    # The same size, the same inode, the old mtime: only SIGHUP can tell it changed.
    before = keys_file.stat()
    new_key = "alice-new-key-for-tests-012345"
    text = keys_file.read_text().replace(
        new_record("x", Role.ADMIN, ALICE_KEY).digest.hex(),
        new_record("x", Role.ADMIN, new_key).digest.hex())
    with keys_file.open("r+") as file:
        file.write(text)
    os.utime(keys_file, ns=(before.st_atime_ns, before.st_mtime_ns))
    time.sleep(2.5 * TIME_SCALE)
    with named.client(ALICE_KEY) as client:
        assert client.get("/server/status").status_code == 200  # not noticed yet
    os.kill(named.process.pid, signal.SIGHUP)
    with named.client(new_key) as client:
        wait_until(lambda: client.get("/server/status").status_code == 200, 5 * TIME_SCALE)
    with named.client(ALICE_KEY) as client:
        assert client.get("/server/status").status_code == 401
    assert named.process.poll() is None  # SIGHUP did not end vsmanager


# -- demo -------------------------------------------------------------------------------------


def test_demo_prints_only_the_keys_it_generated(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VS_")}
    env["VS_API_KEY_ADMIN"] = ADMIN_KEY
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "vsmanager", "demo", "--port", str(port)], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        start_new_session=True, text=True)
    try:
        assert process.stdout is not None
        printed = []
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and not any("Ctrl+C" in line for line in printed):
            printed.append(process.stdout.readline())
        text = "".join(printed)
        assert ADMIN_KEY not in text
        monitor = next(line.split()[-1] for line in printed if "monitor key" in line)
        assert len(monitor) >= 16
        wait_until(lambda: _ready(port), 20 * TIME_SCALE)
        status = httpx.get(f"http://127.0.0.1:{port}/api/v1alpha1/server/status",
                           headers={"X-API-Key": monitor}, timeout=TIMEOUT)
        assert status.status_code == 200
    finally:
        stop_process(process)  # type: ignore[arg-type]
        if process.stdout is not None:
            process.stdout.close()


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
