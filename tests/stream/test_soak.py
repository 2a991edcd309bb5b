"""Soak: clients that keep dropping and resuming, against a flooding game, for a minute.

Marked slow: not in the default run. `scripts/test -m slow` runs it; VS_SOAK_SECONDS sets
its length (default 60).
"""

from __future__ import annotations

import asyncio
import json
import os
import random

import pytest
from websockets.asyncio.client import connect

from harness import TIME_SCALE, VsManager, run_vsmanager, script_command

SOAK_S = float(os.environ.get("VS_SOAK_SECONDS", "60"))
CLIENTS = 5


async def resuming_client(vsm: VsManager, seed: int, until: float) -> list[int]:
    """Connect, read a while, drop the connection, resume with after=; return every seq."""
    rng = random.Random(seed)
    loop = asyncio.get_running_loop()
    seqs: list[int] = []
    while loop.time() < until:
        query = {"format": "json"}
        query.update({"after": str(seqs[-1])} if seqs else {"history_lines": "0"})
        async with connect(vsm.ws_url(**query), open_timeout=10 * TIME_SCALE, max_size=None) as ws:
            stay = loop.time() + rng.uniform(0.2, 2.0)
            while loop.time() < min(stay, until):
                frame = json.loads(await asyncio.wait_for(ws.recv(), 10 * TIME_SCALE))
                assert frame["type"] != "gap", frame
                seqs += [line["seq"] for line in frame.get("lines", [])]
    return seqs


@pytest.mark.slow
@pytest.mark.timeout(SOAK_S * 3 + 120)
async def test_clients_that_keep_reconnecting_get_every_line_exactly_once() -> None:
    with run_vsmanager(script_command("flood.py", "2000", "100"), server_stop_command="",
                       console_buffer_lines=int(2000 * SOAK_S * 1.5) + 10_000,
                       console_buffer_bytes=512 * 1024 * 1024) as vsm:
        vsm.wait_for_state("running")
        until = asyncio.get_running_loop().time() + SOAK_S
        results = await asyncio.gather(*(resuming_client(vsm, n, until) for n in range(CLIENTS)))
    for seqs in results:
        assert len(seqs) > 1000 * SOAK_S
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # none twice, none missing
