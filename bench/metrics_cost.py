"""What game awareness and metrics cost: the resource sampler, and the per-line hooks.

1. The sampler, in a real vsmanager running the simulator: it samples every
   ``--interval`` seconds (faster than the default 5 s, to collect enough samples), and
   counts the CPU time its psutil readings take in their thread
   (``vsmanager_metrics_sampling_cpu_seconds_total``). Printed: CPU per sample, and what
   that is as a share of one core at the default interval.
2. The hot-path hooks, in this process: what capturing a console line costs in all, and
   the game profile's and the line counters' share of it; what counting a sent frame costs.

    python bench/metrics_cost.py                 # about 40 seconds
    python bench/metrics_cost.py --seconds 10    # quicker
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
import timeit

import httpx
import psutil
from prometheus_client.parser import text_string_to_metric_families
from servers import ADMIN_KEY, free_port

DEFAULT_INTERVAL_S = 5.0

# A mix like a Vintage Story console's: events, chat, a join, continuation lines.
LINES = [
    "1.12.2026 22:00:00 [Server Event] Tick 1234: chunk column 12,34 generated",
    "1.12.2026 22:00:00 [Server Notification] Handling Console Command /stats",
    "1.12.2026 22:00:00 [Server Chat] Priya13: <strong>Priya13:</strong> anyone seen my copper pick?",
    "   at Vintagestory.Server.ServerMain.Process()",
    "1.12.2026 22:00:00 [Server Event] Offthread save of 197 chunks done.",
    "Loaded entities: 12 (3 active)",
    "1.12.2026 22:00:00 [Server Event] Mods and systems notified, now saving everything...",
    "1.12.2026 22:00:00 [Server Event] Priya13 [::ffff:203.0.113.7]:43212 joins.",
]


def sampler_cost(seconds: float, interval: float) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VS_")}
    env |= {
        "VS_API_KEY_ADMIN": ADMIN_KEY,
        "VS_SERVER_COMMAND": shlex.join([sys.executable, "-m", "vsmanager", "simulate", "--players", "3",
                                          "--events-per-second", "50", "--startup-seconds", "0.2"]),
        "VS_SERVER_AUTOSTART": "true",
        "VS_METRICS_INTERVAL": str(interval),
    }
    process = subprocess.Popen([sys.executable, "-m", "vsmanager", "serve", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(url, headers={"X-API-Key": ADMIN_KEY}, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        time.sleep(seconds)
        text = httpx.get(url, headers={"X-API-Key": ADMIN_KEY}, timeout=10).text
    finally:
        _stop(process)
    values = {sample.name: sample.value for family in text_string_to_metric_families(text)
              for sample in family.samples if not sample.labels}
    samples = values["vsmanager_metrics_samples_total"]
    cpu = values["vsmanager_metrics_sampling_cpu_seconds_total"]
    per_sample_ms = 1000 * cpu / samples
    share = 100 * per_sample_ms / 1000 / DEFAULT_INTERVAL_S
    print(f"sampler: {samples:.0f} samples in {seconds:g} s (every {interval:g} s), "
          f"{per_sample_ms:.2f} ms CPU per sample")
    print(f"sampler: at the default {DEFAULT_INTERVAL_S:g} s interval: {share:.3f} % of one core")
    print(f"sampler: machine has {len(psutil.pids())} processes and {psutil.cpu_count()} cores; "
          f"load average {' '.join(f'{x:.1f}' for x in psutil.getloadavg())}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the group (vsmanager stops its game), then SIGKILL whatever is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(15)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(5)


def line_cost(repeat: int) -> None:
    from vsmanager.config.settings import load_settings
    from vsmanager.console.buffer import ConsoleBuffer
    from vsmanager.console.counters import ConsoleCounters
    from vsmanager.console.feed import ConsoleFeed
    from vsmanager.game.profile import GameFacts, build_profile
    from vsmanager.game.supervisor import Supervisor

    settings = load_settings(api_key_admin=ADMIN_KEY, server_command="true")
    supervisor = Supervisor(settings, ConsoleFeed(ConsoleBuffer(10_000, 16 * 1024 * 1024)))
    facts = GameFacts(build_profile("vintagestory"))
    counters = ConsoleCounters()
    lines = LINES * 1000

    def per_line(call: object) -> float:
        best = min(timeit.repeat(call, number=1, repeat=repeat))  # type: ignore[arg-type]
        return 1e6 * best / len(lines)

    whole = per_line(lambda: [supervisor._capture_line("stdout", line) for line in lines])
    profile = per_line(lambda: [facts.observe("stdout", line) for line in lines])
    count = per_line(lambda: [counters.line_read("stdout", line) for line in lines])
    empty = per_line(lambda: [None for _ in lines])
    frame = per_line(lambda: [counters.frames_written(1, 0.00002) for _ in lines])
    print(f"per line: capture to buffer (all of it) {whole - empty:.2f} us, of which "
          f"the game profile {profile - empty:.2f} us and the line counters {count - empty:.2f} us")
    print(f"per frame: counting it and its send latency {frame - empty:.2f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the sampler runs (default 30)")
    parser.add_argument("--interval", type=float, default=0.5, help="sampling interval during the run")
    parser.add_argument("--repeat", type=int, default=7, help="repeats of the per-line timing")
    args = parser.parse_args()
    line_cost(args.repeat)
    sampler_cost(args.seconds, args.interval)


if __name__ == "__main__":
    main()
