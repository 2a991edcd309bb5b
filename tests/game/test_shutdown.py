"""vsmanager's own end: the game is stopped the graceful way, or at worst told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from typing import Any

import psutil
import pytest
from websockets.asyncio.client import connect as aconnect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from harness import TIME_SCALE, VsManager, run_vsmanager, simulator_command


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout * TIME_SCALE
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_stopping_vsmanager_stops_the_game_gracefully_while_watchers_watch(
    sig: signal.Signals,
) -> None:
    with run_vsmanager() as vsm:
        game = int(vsm.wait_for_state("running")["pid"])  # type: ignore[arg-type]
        with connect(vsm.ws_url(history_lines=0), open_timeout=10) as ws:
            os.kill(vsm.process.pid, sig)
            seen: list[str] = []
            with pytest.raises(ConnectionClosed):
                while True:
                    seen.append(str(ws.recv(timeout=30 * TIME_SCALE)))
        vsm.process.wait(30 * TIME_SCALE)
    assert vsm.process.returncode == 0  # a clean stop on request is a success
    assert wait_gone(game, 5)
    # The game was asked with its own stop command, and the watcher saw its last words.
    assert "[CMD] /stop" in seen
    assert any("Stop reason: by console" in line for line in seen)
    assert any("Stopped the server!" in line for line in seen)
    assert seen[-1] == "server exited with code 0"
    assert ws.close_code == 1012


async def watch_to_the_end(vsm: VsManager) -> tuple[list[dict[str, Any]], int | None]:
    """Every frame a JSON client gets until the socket closes, and the close code."""
    frames: list[dict[str, Any]] = []
    async with aconnect(vsm.ws_url(format="json", history_lines=0), open_timeout=10,
                        max_size=None) as ws:
        with contextlib.suppress(ConnectionClosed):
            async with asyncio.timeout(60 * TIME_SCALE):
                async for message in ws:
                    frames.append(json.loads(message))
    return frames, ws.close_code


async def test_on_sigterm_every_watcher_of_a_busy_console_gets_the_end_before_the_close() -> None:
    with run_vsmanager(simulator_command("--events-per-second", "2000")) as vsm:
        vsm.wait_for_state("running")
        watchers = [asyncio.create_task(watch_to_the_end(vsm)) for _ in range(20)]
        await asyncio.sleep(1.5 * TIME_SCALE)  # all connected, the console busy
        os.kill(vsm.process.pid, signal.SIGTERM)
        results = await asyncio.gather(*watchers)
        await asyncio.to_thread(vsm.process.wait, 30 * TIME_SCALE)
    assert vsm.process.returncode == 0
    for frames, code in results:
        texts = [line["text"] for f in frames if f["type"] == "lines" for line in f["lines"]]
        seqs = [line["seq"] for f in frames if f["type"] == "lines" for line in f["lines"]]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # nothing lost on the way
        assert any("Stopped the server!" in text for text in texts)
        assert texts[-1] == "server exited with code 0"
        assert frames[-1]["type"] == "status" and frames[-1]["state"] == "stopped"
        assert code == 1012


def test_a_killed_vsmanager_leaves_no_game_running() -> None:
    with run_vsmanager(simulator_command("--save-seconds", "0")) as vsm:
        game = int(vsm.wait_for_state("running")["pid"])  # type: ignore[arg-type]
        os.kill(vsm.process.pid, signal.SIGKILL)
        vsm.process.wait(10 * TIME_SCALE)
        # The supervisor of last resort sends the orphaned game /stop; the simulator saves and exits.
        assert wait_gone(game, 20), _describe(game)


def _describe(pid: int) -> str:
    try:
        process = psutil.Process(pid)
        return f"still there: {process.status()} {process.cmdline()} parent {process.ppid()}"
    except psutil.NoSuchProcess:
        return "gone"
