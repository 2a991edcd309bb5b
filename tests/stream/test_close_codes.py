"""How console sockets end, as the log and /metrics say it: the terminal client closes with
1000 when it is done, a close without a code is `no_status`, and codes a client makes up
are counted as `other` (they cannot create series)."""

from __future__ import annotations

import asyncio
import os
import re
import select
import signal
import subprocess
import sys
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from harness import ADMIN_KEY, TIME_SCALE, VsManager, run_vsmanager
from vsmanager.console.counters import CLOSE_CODE_LABELS, close_code_label

TIMEOUT = 10 * TIME_SCALE


def closed_counts(vsm: VsManager) -> dict[str, float]:
    text = httpx.get(f"{vsm.url}/metrics", headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                     timeout=TIMEOUT).text
    return {s.labels["code"]: s.value for family in text_string_to_metric_families(text)
            for s in family.samples if s.name == "vsmanager_websocket_clients_closed_total"}


def wait_for_closes(vsm: VsManager, count: int) -> list[str]:
    deadline = time.monotonic() + TIMEOUT
    while True:
        codes = re.findall(r"console_ws_disconnected .*?close_code=(\S+)", vsm.log_text())
        if len(codes) >= count:
            return codes
        assert time.monotonic() < deadline, f"{len(codes)} of {count} closes logged: {codes}"
        time.sleep(0.05)


@pytest.mark.parametrize(("code", "label"), [
    (1000, "1000"), (1001, "1001"), (4008, "4008"), (1005, "no_status"), (None, "1006"),
    (3999, "other"), (4999, "other"), (1004, "other"), (65535, "other"),
])
def test_close_code_labels_are_a_fixed_set(code: int | None, label: str) -> None:
    assert close_code_label(code) == label
    assert label in CLOSE_CODE_LABELS


def test_terminal_client_closes_with_1000_when_done() -> None:
    with run_vsmanager() as vsm:
        vsm.wait_for_state("running")
        env = {k: v for k, v in os.environ.items() if not k.startswith("VS_")}
        env.update(VS_URL=vsm.url, VS_API_KEY=ADMIN_KEY, PYTHONUNBUFFERED="1")
        # `send` done: its wait for the answer ends.
        subprocess.run([sys.executable, "-m", "vsmanager", "send", "/help", "--wait", "1"],
                       env=env, capture_output=True, timeout=TIMEOUT * 3, check=True)
        # Ctrl-C of a follower.
        follower = subprocess.Popen(
            [sys.executable, "-m", "vsmanager", "console", "--follow", "--tail", "0"], env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            # Its start (imports) takes seconds on a loaded machine: bounded, not timed.
            deadline = time.monotonic() + 3 * TIMEOUT
            while vsm.log_text().count("console_ws_connected") < 2:
                assert time.monotonic() < deadline, "the follower never connected"
                time.sleep(0.05)
            # The server logs the connection before the client has read its first frames; a
            # Ctrl-C in between races the client's own start. A line it prints says it reads.
            with vsm.client() as client:
                client.post("/console/command", json={"command": "/time"}).raise_for_status()
            assert follower.stdout is not None
            ready, _, _ = select.select([follower.stdout], [], [], 3 * TIMEOUT)
            assert ready and b"/time" in follower.stdout.readline(), "the follower shows nothing"
            follower.send_signal(signal.SIGINT)
            follower.wait(TIMEOUT)
        finally:
            if follower.poll() is None:
                follower.kill()
                follower.wait(5)
            if follower.stdout is not None:
                follower.stdout.close()
        assert wait_for_closes(vsm, 2) == ["1000", "1000"]
        counts = closed_counts(vsm)
    assert counts["1000"] == 2 and counts["1011"] == 0


async def _close_with(vsm: VsManager, code: int | None) -> None:
    async with connect(vsm.ws_url(format="json"), open_timeout=TIMEOUT) as ws:
        await asyncio.wait_for(ws.recv(), TIMEOUT)
        # None: a close frame with no code at all (websockets sends an empty one).
        await ws.close(code)  # type: ignore[arg-type]


def test_made_up_codes_count_as_other_and_no_code_as_no_status() -> None:
    with run_vsmanager() as vsm:
        before = closed_counts(vsm)
        assert set(before) == set(CLOSE_CODE_LABELS) and not any(before.values())  # all at 0

        async def clients() -> None:
            for code in (None, *range(3000, 3050)):
                await _close_with(vsm, code)

        asyncio.run(clients())
        codes = wait_for_closes(vsm, 51)
        after = closed_counts(vsm)
    assert codes[0] == "no_status" and codes[1:] == [str(c) for c in range(3000, 3050)]
    assert set(after) == set(CLOSE_CODE_LABELS)  # fifty codes, no new series
    assert after["other"] == 50 and after["no_status"] == 1
