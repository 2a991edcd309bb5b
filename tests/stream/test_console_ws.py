"""The console WebSocket on a real vsmanager with real clients: auth, history, live, resume."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from harness import (
    ADMIN_KEY,
    MONITOR_KEY,
    TIME_SCALE,
    VsManager,
    python_command,
    run_vsmanager,
    simulator_command,
)

TIMEOUT = 10 * TIME_SCALE


@pytest.fixture(scope="module")
def chatty() -> Iterator[VsManager]:
    """A simulator printing 200 event lines a second: there is always history and traffic."""
    with run_vsmanager(simulator_command("--events-per-second", "200")) as manager:
        manager.wait_for_state("running")
        deadline = time.monotonic() + TIMEOUT
        while manager.history(lines=1)["last_seq"] < 300 and time.monotonic() < deadline:
            time.sleep(0.05)
        yield manager


def open_ws(vsm: VsManager, key: str | None = ADMIN_KEY, **query: object) -> Any:
    return connect(vsm.ws_url(key, **query), open_timeout=TIMEOUT, close_timeout=2,
                   max_size=None)


async def next_json(ws: ClientConnection) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT)))


async def lines_until(ws: ClientConnection, count: int) -> list[dict[str, Any]]:
    """Collect JSON console lines until there are ``count``; other frames are skipped."""
    lines: list[dict[str, Any]] = []
    async with asyncio.timeout(TIMEOUT * 2):
        while len(lines) < count:
            frame = json.loads(await ws.recv())
            if frame["type"] == "lines":
                lines.extend(frame["lines"])
    return lines


async def evicted_up_to(vsm: VsManager, seq: int) -> None:
    """Wait (bounded) until the buffer's oldest line is ``seq`` or later."""
    deadline = time.monotonic() + TIMEOUT
    while vsm.history(lines=1)["first_seq"] < seq and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


async def close_code_of(ws: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(TIMEOUT):
            while True:
                await ws.recv()
    return ws.close_code


# -- auth and query ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "code"),
    [(None, 4001), ("", 4001), ("not-a-key-not-a-key", 4001), ("ключ-ключ-ключ-ключ", 4001),
     (MONITOR_KEY, 4003)],
    ids=["missing", "empty", "invalid", "non-ascii", "monitor"],
)
async def test_refused_keys_get_their_close_code(chatty: VsManager, key: str | None, code: int) -> None:
    async with open_ws(chatty, key) as ws:
        assert await close_code_of(ws) == code
        assert ws.close_reason


@pytest.mark.parametrize(
    "query",
    [{"format": "xml"}, {"history_lines": "-1"}, {"history_lines": "many"}, {"after": "-3"},
     {"after": "1.5"}, {"after": "9" * 30}, {"history_lines": "%20"},
     {"console_id": "a" * 65}, {"console_id": "ab-cd"}, {"console_id": ""},
     {"frames_per_second": "0"}],
    ids=lambda q: "-".join(f"{k}={v}" for k, v in q.items())[:24],
)
async def test_bad_query_values_close_with_4400_and_a_reason(
    chatty: VsManager, query: dict[str, str]
) -> None:
    async with open_ws(chatty, **query) as ws:
        assert await close_code_of(ws) == 4400
        assert any(name in ws.close_reason for name in query)  # type: ignore[operator]


# -- history and live -------------------------------------------------------------------------


async def test_text_format_sends_the_default_100_lines_of_history(chatty: VsManager) -> None:
    last = chatty.history(lines=1)["last_seq"]
    async with open_ws(chatty) as ws:
        frames = [await asyncio.wait_for(ws.recv(), TIMEOUT) for _ in range(100)]
    assert all(isinstance(f, str) and not f.startswith("{") for f in frames)
    history = {line["text"] for line in chatty.history(after=last - 100, limit=100)["lines"]}
    assert frames[0] in history  # the first frame is a history line, not a live one


@pytest.mark.parametrize("count", [0, 1, 37, 250])
async def test_history_lines_sets_how_much_history(chatty: VsManager, count: int) -> None:
    async with open_ws(chatty, format="json", history_lines=count) as ws:
        status = await next_json(ws)
        assert status["type"] == "status" and status["state"] == "running"
        first = await next_json(ws)
    assert first["type"] == "lines"
    last_seen = first["lines"][-1]["seq"]
    # The first batch is history: `count` lines ending at the newest when we connected.
    history = [line for line in first["lines"] if line["seq"] <= last_seen]
    if count:
        assert len(history) >= min(count, 1)
        assert first["lines"][0]["seq"] == last_seen - len(first["lines"]) + 1
    assert len(first["lines"]) <= max(count, 1) + 50  # history plus at most a few live lines


async def test_more_history_than_held_gives_everything_held() -> None:
    with run_vsmanager(console_buffer_lines=50) as vsm:
        vsm.wait_for_state("running")
        held = vsm.history(lines=10_000)
        async with open_ws(vsm, format="json", history_lines=100_000) as ws:
            await next_json(ws)
            first = await next_json(ws)
        assert first["type"] == "lines"
        assert first["lines"][0]["seq"] == held["first_seq"]


async def test_empty_buffer_history_sends_no_lines_until_there_are_some() -> None:
    with run_vsmanager(autostart=False) as vsm:
        async with open_ws(vsm, format="json") as ws:
            status = await next_json(ws)
            assert status["state"] == "stopped"
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(ws.recv(), 0.3 * TIME_SCALE)
            with vsm.client() as client:
                client.post("/server/start")
            lines = await lines_until(ws, 2)
        assert lines[0]["seq"] == 1 and lines[0]["stream"] == "system"
        # The first names who started it, the second the process.
        assert lines[0]["text"] == "admin started the server"
        assert lines[1]["text"].startswith("server started (pid ")


async def test_live_lines_arrive_within_a_second(chatty: VsManager) -> None:
    async with open_ws(chatty, format="json", history_lines=0) as ws:
        await next_json(ws)
        with chatty.client() as client:
            sent_at = time.monotonic()
            client.post("/console/command", json={"command": "/time"})
        async with asyncio.timeout(TIMEOUT):
            while True:
                frame = await next_json(ws)
                texts = [line["text"] for line in frame.get("lines", [])]
                if any("Server time is" in t for t in texts):
                    break
        assert time.monotonic() - sent_at < 1.0 * TIME_SCALE


async def test_status_frames_follow_state_changes() -> None:
    with run_vsmanager() as vsm:
        vsm.wait_for_state("running")
        async with open_ws(vsm, format="json", history_lines=0) as ws:
            assert (await next_json(ws))["state"] == "running"
            with vsm.client() as client:
                client.post("/server/stop")
            states = []
            async with asyncio.timeout(TIMEOUT):
                while "stopped" not in states:
                    frame = await next_json(ws)
                    if frame["type"] == "status":
                        states.append(frame["state"])
        assert states == ["stopping", "stopped"]


async def test_no_line_lost_or_doubled_where_history_meets_live() -> None:
    with run_vsmanager(simulator_command("--events-per-second", "3000")) as vsm:
        vsm.wait_for_state("running")
        for _ in range(5):
            async with open_ws(vsm, format="json", history_lines=40) as ws:
                await next_json(ws)
                lines = await lines_until(ws, 600)
            seqs = [line["seq"] for line in lines]
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


@pytest.mark.parametrize("fmt", ["json", "text"])
async def test_a_paced_crowd_gets_every_line_once_in_order(fmt: str) -> None:
    # 60 clients on a budget of 1,000 frames/s: 60 ms per client per write, in three tick
    # groups, written by the broadcast at their ticks. Each client must still get every line
    # exactly once, in order: in JSON several to a frame, in text a frame each.
    clients, wanted = 60, 400
    with run_vsmanager(simulator_command("--events-per-second", "1000"),
                       ws_frames_per_second=1000, ws_max_connections_per_client=100,
                       http_max_connections_per_client=100) as vsm:
        vsm.wait_for_state("running")

        async def watch() -> tuple[list[int], int]:
            numbers: list[int] = []  # seqs in JSON, the simulator's tick counts in text
            frames = 0
            async with open_ws(vsm, format=fmt, history_lines=0) as ws:
                async with asyncio.timeout(TIMEOUT * 3):
                    while len(numbers) < wanted:
                        data = await ws.recv()
                        assert isinstance(data, str)
                        if fmt == "text":
                            assert not data.startswith("[vsmanager]"), data  # no gap
                            if "Tick " in data:
                                numbers.append(int(data.split("Tick ")[1].split(":")[0]))
                            continue
                        frame = json.loads(data)
                        if frame["type"] == "lines":
                            frames += 1
                            numbers.extend(line["seq"] for line in frame["lines"])
            return numbers, frames

        results = await asyncio.gather(*(watch() for _ in range(clients)))
    for numbers, frames in results:
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
        if fmt == "json":
            assert len(numbers) / frames > 5


@pytest.mark.parametrize("fmt", ["json", "text"])
async def test_frames_per_second_paces_a_busy_console_and_keeps_every_line(fmt: str) -> None:
    # 1,000 lines/s to a client that asks for 10 writes a second: every line, in order,
    # and far fewer frames (JSON) or writes (text: a frame per line, several per write).
    with run_vsmanager(simulator_command("--events-per-second", "1000")) as vsm:
        vsm.wait_for_state("running")
        async with open_ws(vsm, format=fmt, history_lines=0, frames_per_second=10) as ws:
            if fmt == "json":
                await next_json(ws)  # the status
            seqs, frames, texts = [], 0, []
            async with asyncio.timeout(TIMEOUT * 3):
                while len(seqs if fmt == "json" else texts) < 1500:
                    data = await ws.recv()
                    frames += 1
                    if fmt == "text":
                        texts.append(data)
                        continue
                    frame = json.loads(data)
                    if frame["type"] == "lines":
                        seqs.extend(line["seq"] for line in frame["lines"])
    if fmt == "json":
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        assert frames < len(seqs) / 20  # ~100 lines a frame at 10 frames/s
    else:
        assert frames == len(texts) and not any(t.startswith("[vsmanager]") for t in texts)
        numbers = [int(t.split("Tick ")[1].split(":")[0]) for t in texts if "Tick " in t]
        assert numbers == sorted(numbers)


async def test_text_format_marks_commands(chatty: VsManager) -> None:
    async with open_ws(chatty, history_lines=0) as ws:
        with chatty.client() as client:
            client.post("/console/command", json={"command": "/list clients"})
        async with asyncio.timeout(TIMEOUT):
            while (await ws.recv()) != "[CMD] /list clients":
                pass


# -- resume -----------------------------------------------------------------------------------


async def test_resume_with_after_gets_exactly_the_missed_lines(chatty: VsManager) -> None:
    async with open_ws(chatty, format="json", history_lines=5) as ws:
        await next_json(ws)
        seen = await lines_until(ws, 5)
    last = seen[-1]["seq"]
    await asyncio.sleep(0.3)  # lines go by while we are away
    async with open_ws(chatty, format="json", after=last) as ws:
        await next_json(ws)
        resumed = await lines_until(ws, 40)
    seqs = [line["seq"] for line in resumed]
    assert seqs[0] == last + 1
    assert seqs == list(range(last + 1, last + 1 + len(seqs)))


async def test_resume_after_eviction_reports_the_gap_first() -> None:
    with run_vsmanager(simulator_command("--events-per-second", "500"),
                       console_buffer_lines=50) as vsm:
        vsm.wait_for_state("running")
        await evicted_up_to(vsm, 200)
        async with open_ws(vsm, format="json", after=10) as ws:
            await next_json(ws)
            gap = await next_json(ws)
            following = await next_json(ws)
        assert gap["type"] == "gap" and gap["from_seq"] == 11
        assert gap["count"] == gap["to_seq"] - gap["from_seq"] + 1
        assert following["lines"][0]["seq"] == gap["to_seq"] + 1
        async with open_ws(vsm, after=10) as ws:  # text format says it in a line
            notice = await asyncio.wait_for(ws.recv(), TIMEOUT)
        assert "lines skipped" in notice


async def test_a_fresh_client_asking_for_the_whole_buffer_gets_it_without_a_gap() -> None:
    # The start is fixed when the handshake is answered. At 2,000 lines/s lines come while the
    # answer goes out and evict the oldest history asked for: that history was never owed, so
    # no gap frame for it. (A gap for lines after the handshake would need half a second's
    # stall here.)
    with run_vsmanager(simulator_command("--events-per-second", "2000"),
                       console_buffer_lines=1000) as vsm:
        vsm.wait_for_state("running")
        await evicted_up_to(vsm, 100)  # the buffer is full: every new line evicts one
        for _ in range(10):
            async with open_ws(vsm, format="json", history_lines=1000) as ws:
                frames = [await next_json(ws)]
                while sum(len(f.get("lines", ())) for f in frames) < 1100:
                    frames.append(await next_json(ws))
            assert [f["type"] for f in frames if f["type"] != "lines"] == ["status"]
            seqs = [line["seq"] for f in frames if f["type"] == "lines" for line in f["lines"]]
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


async def test_resume_from_a_future_seq_says_so_and_sends_all(chatty: VsManager) -> None:
    last = chatty.history(lines=1)["last_seq"]
    async with open_ws(chatty, format="json", after=last + 10_000) as ws:
        frames = [await next_json(ws) for _ in range(2)]
    types = {frame["type"] for frame in frames}
    assert "error" in types
    error = next(f for f in frames if f["type"] == "error")
    assert error["code"] == "after_out_of_range"


async def test_resume_from_another_consoles_numbering_is_told_so_and_gets_a_fresh_start(
    chatty: VsManager,
) -> None:
    # The dangerous case: the old seq exists in this console's numbering too, so a bare
    # after= would send the lines after it as if they were the ones missed.
    last = int(chatty.history(lines=1)["last_seq"])  # type: ignore[call-overload]
    async with open_ws(chatty, format="json", after=last - 100, history_lines=3,
                       console_id="0123456789abcdef") as ws:
        error = await next_json(ws)
        status = await next_json(ws)
        lines = await lines_until(ws, 3)
    assert error["type"] == "error" and error["code"] == "console_restarted"
    assert "restarted" in error["message"]
    assert status["type"] == "status" and status["console_id"] != "0123456789abcdef"
    # What a fresh client with history_lines=3 gets: the newest lines, none from after=.
    assert lines[0]["seq"] > last - 100 + 50
    async with open_ws(chatty, after=last - 100, console_id="0123456789abcdef") as ws:
        notice = await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert isinstance(notice, str) and notice.startswith("[vsmanager] ")
    assert "restarted" in notice


async def test_resume_with_the_current_console_id_gets_exactly_the_missed_lines(
    chatty: VsManager,
) -> None:
    async with open_ws(chatty, format="json", history_lines=1) as ws:
        console_id = (await next_json(ws))["console_id"]
        last = (await lines_until(ws, 1))[-1]["seq"]
    async with open_ws(chatty, format="json", after=last, console_id=console_id) as ws:
        first = await next_json(ws)
        resumed = await lines_until(ws, 20)
    assert first["type"] == "status"
    seqs = [line["seq"] for line in resumed]
    assert seqs == list(range(last + 1, last + 1 + len(seqs)))


async def test_resume_across_a_real_vsmanager_restart_never_mixes_numberings() -> None:
    with run_vsmanager(simulator_command("--events-per-second", "200")) as old:
        old.wait_for_state("running")
        async with open_ws(old, format="json", history_lines=1) as ws:
            old_id = (await next_json(ws))["console_id"]
            old_seq = (await lines_until(ws, 1))[-1]["seq"]
    with run_vsmanager(simulator_command("--events-per-second", "200")) as new:
        new.wait_for_state("running")
        deadline = time.monotonic() + TIMEOUT
        while new.history(lines=1)["last_seq"] < old_seq + 50:  # type: ignore[operator]
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        newest = int(new.history(lines=1)["last_seq"])  # type: ignore[call-overload]
        async with open_ws(new, format="json", after=old_seq, console_id=old_id,
                           history_lines=0) as ws:
            assert (await next_json(ws))["code"] == "console_restarted"
            lines = await lines_until(ws, 5)
    assert lines[0]["seq"] > newest  # live lines only, as for a fresh client with no history


async def test_status_frames_carry_the_uptime_as_of_sending() -> None:
    with run_vsmanager() as vsm:
        vsm.wait_for_state("running")
        await asyncio.sleep(1.5 * TIME_SCALE)
        asked = time.monotonic()
        async with open_ws(vsm, format="json", history_lines=0) as ws:
            status = await next_json(ws)
        rest = vsm.status()
        between = time.monotonic() - asked
    assert status["type"] == "status"
    assert status["uptime_s"] >= 1.5 * TIME_SCALE
    # The REST answer came after the frame, by no more than the time the two took (however
    # slow the machine), give or take their rounding.
    later = rest["uptime_s"] - status["uptime_s"]  # type: ignore[operator]
    assert -0.1 < later < between + 0.1, (later, between)


# -- commands and bad frames over the socket --------------------------------------------------


async def test_command_frame_runs_one_command(chatty: VsManager) -> None:
    async with open_ws(chatty, format="json", history_lines=0) as ws:
        await next_json(ws)
        await ws.send(json.dumps({"type": "command", "command": "/announce over ws"}))
        async with asyncio.timeout(TIMEOUT):
            texts: list[tuple[str, str]] = []
            while not any("Server: over ws" in t for _, t in texts):
                frame = await next_json(ws)
                texts += [(line["stream"], line["text"]) for line in frame.get("lines", [])]
        assert ("command", "/announce over ws") in texts
    # Logged like a command over HTTP: with the key's name.
    logged = [line for line in chatty.log_text().splitlines()
              if " console_command " in line and "/announce over ws" in line]
    assert logged and all("key_name=admin" in line and "via=websocket" in line for line in logged)


@pytest.mark.parametrize(
    ("frame", "code"),
    [("not json", "invalid_json"), ("[1, 2]", "invalid_frame"), ('"str"', "invalid_frame"),
     ('{"type": "dance"}', "unknown_type"), ("{}", "unknown_type"),
     ('{"type": "command", "command": 42}', "invalid_command"),
     ('{"type": "command"}', "invalid_command"),
     ('{"type": "command", "command": "/help\\n/stop"}', "invalid_command"),
     ('{"type": "command", "command": ""}', "invalid_command"),
     (b"\x00\x01binary", "binary_not_supported")],
    ids=["invalid-json", "array", "string", "unknown", "no-type", "number", "missing",
         "newline", "empty", "binary"],
)
async def test_bad_frames_get_an_error_and_the_socket_stays(
    chatty: VsManager, frame: str | bytes, code: str
) -> None:
    async with open_ws(chatty, format="json", history_lines=0) as ws:
        await next_json(ws)
        await ws.send(frame)
        async with asyncio.timeout(TIMEOUT):
            while (reply := await next_json(ws))["type"] != "error":
                pass
        assert reply["code"] == code and reply["message"]
        # Still open and still streaming.
        await ws.send(json.dumps({"type": "command", "command": "/time"}))
        await lines_until(ws, 1)
    assert chatty.status()["state"] == "running"  # "/stop" after the newline never ran


async def test_oversized_frame_closes_with_1009(chatty: VsManager) -> None:
    async with open_ws(chatty, format="json", history_lines=0) as ws:
        await next_json(ws)
        await ws.send(json.dumps({"type": "command", "command": "x" * 70_000}))
        assert await close_code_of(ws) == 1009


async def test_command_while_stopped_gets_an_error_frame() -> None:
    with run_vsmanager(autostart=False) as vsm:
        async with open_ws(vsm, format="json") as ws:
            await next_json(ws)
            await ws.send(json.dumps({"type": "command", "command": "/help"}))
            reply = await next_json(ws)
        assert reply == {"type": "error", "code": "server_not_running",
                         "message": "the server is stopped"}


async def test_large_history_comes_in_frames_any_client_accepts() -> None:
    game = "import sys\nfor i in range(3000): print(f'{i:05d} ' + 'x' * 2000)\nsys.stdout.flush()\n" \
           "import time; time.sleep(60)"
    with run_vsmanager(python_command("-c", game), server_ready_pattern="",
                       server_stop_command="") as vsm:
        vsm.wait_for_line("02999 ")
        # websockets' own default limit: 1 MiB per frame.
        async with connect(vsm.ws_url(format="json", history_lines=3000),
                           open_timeout=TIMEOUT, max_size=2**20) as ws:
            await next_json(ws)
            lines = await lines_until(ws, 3000)
        texts = [line["text"][:5] for line in lines if line["stream"] == "stdout"]
        assert texts == [f"{i:05d}" for i in range(3000)]
