"""Slow and stalled clients cost nobody else anything: not other clients, not the game."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from harness import TIME_SCALE, VsManager, run_vsmanager, script_command

TIMEOUT = 10 * TIME_SCALE


def stalled_socket(port: int) -> socket.socket:
    """A client socket with a tiny receive buffer, so that it fills after a few frames."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


async def read_healthy(vsm: VsManager, seconds: float) -> tuple[list[int], list[float]]:
    """Read as a healthy JSON client for a while: the flood counters seen, and latencies."""
    counters: list[int] = []
    latencies: list[float] = []
    async with connect(vsm.ws_url(format="json", history_lines=0), max_size=None,
                       open_timeout=TIMEOUT) as ws:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            frame = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
            now = time.monotonic_ns()
            for line in frame.get("lines", []):
                match = re.match(r"(\d+) (\d+) ", line["text"])
                if match:
                    counters.append(int(match[1]))
                    latencies.append((now - int(match[2])) / 1e9)
    return counters, latencies


# Two clients are written at once per line by default; on a budget of 100 writes a second
# they are paced (a write every 20 ms, by the broadcast at their ticks).
@pytest.mark.parametrize("budget", [None, 100], ids=["unpaced", "paced"])
async def test_stalled_client_delays_neither_others_nor_the_game_and_is_closed_with_4008(
    budget: int | None,
) -> None:
    paced = {} if budget is None else {"ws_frames_per_second": budget}
    with run_vsmanager(script_command("flood.py", "2000", "1000"), ws_send_timeout=1,
                       server_stop_command="", **paced) as vsm:
        vsm.wait_for_state("running")
        sock = stalled_socket(vsm.port)
        stalled = await connect(vsm.ws_url(history_lines=0), sock=sock, open_timeout=TIMEOUT,
                                max_size=None, max_queue=1)
        try:
            # The stalled client never reads; meanwhile a healthy one does, for 4 s.
            counters, latencies = await read_healthy(vsm, 4 * TIME_SCALE)
            assert counters == list(range(counters[0], counters[0] + len(counters)))
            assert len(counters) > 2000  # it kept up with the flood
            latencies.sort()
            assert latencies[len(latencies) // 2] < 0.5 * TIME_SCALE
            deadline = time.monotonic() + TIMEOUT
            while "console_client_too_slow" not in vsm.log_text():
                assert time.monotonic() < deadline, "the stalled client was never closed"
                await asyncio.sleep(0.1)
            # Judged too slow seconds ago: by now its connection has been reset, if it could
            # not take the close frame in time (see the tests below).
            with contextlib.suppress(ConnectionClosed):
                async with asyncio.timeout(TIMEOUT * 2):
                    while True:
                        await stalled.recv()
            assert stalled.close_code in (4008, 1006)
        finally:
            stalled.transport.abort()
        with vsm.client(timeout=30) as client:
            client.post("/server/stop", params={"wait": 20})
        summary = vsm.wait_for_line("flood done")["text"]
    slowest_ms = float(re.search(r"slowest write ([\d.]+) ms", summary)[1])  # type: ignore[index]
    assert slowest_ms < 1000 * TIME_SCALE  # the game never waited on a client (bench: < 100 ms)


async def test_stalled_client_that_wakes_soon_after_reads_what_was_queued_then_4008() -> None:
    with run_vsmanager(script_command("flood.py", "2000", "1000"), ws_send_timeout=1,
                       server_stop_command="") as vsm:
        vsm.wait_for_state("running")
        stalled = await connect(vsm.ws_url(history_lines=0), sock=stalled_socket(vsm.port),
                                open_timeout=TIMEOUT, max_size=None, max_queue=1)
        try:
            deadline = time.monotonic() + TIMEOUT * 3
            while "console_client_too_slow" not in vsm.log_text():
                assert time.monotonic() < deadline, "the stalled client was never closed"
                await asyncio.sleep(0.02)
            frames = 0
            with contextlib.suppress(ConnectionClosed):
                async with asyncio.timeout(TIMEOUT):
                    while True:
                        await stalled.recv()
                        frames += 1
            assert frames > 0  # what was queued before the close
            assert stalled.close_code == 4008
            assert "after=" in (stalled.close_reason or "")
        finally:
            stalled.transport.abort()


async def test_client_that_falls_behind_the_buffer_is_told_how_many_lines_it_missed() -> None:
    with run_vsmanager(script_command("flood.py", "3000", "1000"), console_buffer_lines=100,
                       ws_send_timeout=60, server_stop_command="") as vsm:
        vsm.wait_for_state("running")
        async with connect(vsm.ws_url(format="json", history_lines=0), max_size=None,
                           sock=stalled_socket(vsm.port), max_queue=1,
                           open_timeout=TIMEOUT) as ws:
            # Stop reading long enough for the socket to fill and the buffer to lap us, but
            # not so long that vsmanager gives up on us; then read as fast as we can.
            await asyncio.sleep(5 * TIME_SCALE)
            seqs: list[int] = []
            async with asyncio.timeout(TIMEOUT * 3):
                while (frame := json.loads(await ws.recv()))["type"] != "gap":
                    seqs += [line["seq"] for line in frame.get("lines", [])]
            following = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        assert frame["from_seq"] == seqs[-1] + 1
        assert frame["count"] == frame["to_seq"] - frame["from_seq"] + 1 > 0
        assert following["type"] == "lines"
        assert following["lines"][0]["seq"] == frame["to_seq"] + 1


def server_side_tcp(server_port: int, client_port: int) -> tuple[str, int] | None:
    """The server's end of one loopback connection in /proc/net/tcp: (state, bytes queued to
    send), or None once the kernel has let it go."""
    wanted = (f"{server_port:04X}", f"{client_port:04X}")
    for row in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = row.split()
        local, remote, state, queues = fields[1], fields[2], fields[3], fields[4]
        if (local.split(":")[1], remote.split(":")[1]) == wanted:
            return TCP_STATES.get(state, state), int(queues.split(":")[0], 16)
    return None


TCP_STATES = {"01": "ESTABLISHED", "04": "FIN_WAIT1", "05": "FIN_WAIT2", "06": "TIME_WAIT",
              "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0B": "CLOSING"}


async def test_stalled_clients_socket_is_released_soon_after_it_is_judged_too_slow() -> None:
    with run_vsmanager(script_command("flood.py", "2000", "1000"), ws_send_timeout=1,
                       server_stop_command="") as vsm:
        vsm.wait_for_state("running")
        sock = stalled_socket(vsm.port)
        client_port = sock.getsockname()[1]
        stalled = await connect(vsm.ws_url(history_lines=0), sock=sock, open_timeout=TIMEOUT,
                                max_size=None, max_queue=1)
        try:
            deadline = time.monotonic() + TIMEOUT * 3
            while "console_client_too_slow" not in vsm.log_text():
                assert time.monotonic() < deadline, "the stalled client was never closed"
                await asyncio.sleep(0.05)
            judged = time.monotonic()
            # The close frame cannot reach a client that does not read: within the close
            # handshake and linger bounds, the server resets the connection, and the kernel
            # holds nothing for it any more.
            while (seen := server_side_tcp(vsm.port, client_port)) is not None and seen[1] > 0:
                assert time.monotonic() - judged < 5 * TIME_SCALE, f"still there: {seen}"
                await asyncio.sleep(0.1)
            # Nor does it come back later.
            await asyncio.sleep(1 * TIME_SCALE)
            seen = server_side_tcp(vsm.port, client_port)
            assert seen is None or seen[1] == 0, seen
        finally:
            stalled.transport.abort()
