"""Prometheus' own tool on what vsmanager gives it: the alert rules in docs/operations.md
(`promtool check rules`, and `promtool test rules` on values scraped for real) and a real
scrape of /metrics (`promtool check metrics`)."""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from harness import ADMIN_KEY, TIME_SCALE, VsManager, run_vsmanager, script_command, simulator_command

DOCS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
TIMEOUT = 10 * TIME_SCALE


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is not installed (Debian: apt-get install prometheus; .ci/run does)")
    return path


def documented_rules() -> str:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(), re.S)
    rules = [block for block in blocks if block.startswith("groups:")]
    assert len(rules) == 1, "docs/operations.md must hold its alert rules in one yaml block"
    return rules[0]


def scrape(vsm: VsManager) -> str:
    answer = httpx.get(f"{vsm.url}/metrics", headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                       timeout=TIMEOUT)
    assert answer.status_code == 200
    return answer.text


def sample(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for each in family.samples:
            if each.name == name and all(each.labels.get(k) == v for k, v in labels.items()):
                return float(each.value)
    return None


def test_promtool_accepts_the_documented_rules(tmp_path: Path) -> None:
    rules = tmp_path / "vsmanager-alerts.yml"
    rules.write_text(documented_rules())
    result = subprocess.run([promtool(), "check", "rules", str(rules)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 6 rules found" in result.stdout


def test_promtool_accepts_a_real_scrape() -> None:
    with run_vsmanager(simulator_command()) as vsm:
        vsm.wait_for_state("running")
        with vsm.client() as client:
            assert client.post("/console/command", json={"command": "/stats"}).status_code == 202
        text = scrape(vsm)
    result = subprocess.run([promtool(), "check", "metrics"], input=text,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_first_slow_client_fires_the_documented_alert(tmp_path: Path) -> None:
    """The 4008 series is there at 0 before the first slow client and 1 after: the two
    scrapes, fed to promtool as they came, fire ConsoleClientsTooSlow."""
    with run_vsmanager(script_command("flood.py", "2000", "1000"), ws_send_timeout=1,
                       server_stop_command="") as vsm:
        vsm.wait_for_state("running")
        before = sample(scrape(vsm), "vsmanager_websocket_clients_closed_total", code="4008")
        asyncio.run(_one_slow_client(vsm))
        deadline = time.monotonic() + TIMEOUT
        after = None
        while time.monotonic() < deadline and not after:
            after = sample(scrape(vsm), "vsmanager_websocket_clients_closed_total", code="4008")
            time.sleep(0.1)
    assert before == 0
    assert after == 1
    (tmp_path / "rules.yml").write_text(documented_rules())
    (tmp_path / "test.yml").write_text(f"""\
rule_files: [rules.yml]
evaluation_interval: 15s
tests:
  - interval: 15s
    input_series:
      - series: 'vsmanager_websocket_clients_closed_total{{code="4008", instance="vs:8080", job="vsmanager"}}'
        values: "{before:g} {after:g} {after:g}"
    alert_rule_test:
      - eval_time: 30s
        alertname: ConsoleClientsTooSlow
        exp_alerts:
          - exp_labels: {{code: "4008", instance: "vs:8080", job: "vsmanager"}}
            exp_annotations:
              summary: "1 console clients on vs:8080 were closed in 10 minutes for falling behind"
""")
    result = subprocess.run([promtool(), "test", "rules", "test.yml"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


async def _one_slow_client(vsm: VsManager) -> None:
    # A tiny receive buffer that is never read: full after a few frames of the flood.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", vsm.port))
    sock.setblocking(False)
    stalled = await connect(vsm.ws_url(history_lines=0), sock=sock, open_timeout=TIMEOUT,
                            max_size=None, max_queue=1)
    try:
        deadline = time.monotonic() + 3 * TIMEOUT
        while "console_client_too_slow" not in vsm.log_text():
            assert time.monotonic() < deadline, "the stalled client was never closed"
            await asyncio.sleep(0.1)
    finally:
        stalled.transport.abort()


def test_documented_alerts_fire_when_they_should_and_print_whole_numbers(tmp_path: Path) -> None:
    """GameServerDown: a crashed server alerts, one an admin stopped does not (the series
    match only on(instance, job)); the crash count prints whole, not 3.1244000000000005."""
    (tmp_path / "rules.yml").write_text(documented_rules())
    target = 'instance="{0}", job="vsmanager"'
    (tmp_path / "test.yml").write_text(f"""\
rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 45s
    input_series:
      - series: 'vsmanager_game_up{{{target.format("crashed:8080")}}}'
        values: "0x30"
      - series: 'vsmanager_game_state{{state="stopped", {target.format("crashed:8080")}}}'
        values: "0x30"
      - series: 'vsmanager_game_up{{{target.format("stopped:8080")}}}'
        values: "0x30"
      - series: 'vsmanager_game_state{{state="stopped", {target.format("stopped:8080")}}}'
        values: "1x30"
      - series: 'vsmanager_game_crashes_total{{{target.format("crashed:8080")}}}'
        values: "0x6 1 2 3x30"
    alert_rule_test:
      - eval_time: 7m
        alertname: GameServerDown
        exp_alerts:
          - exp_labels: {{instance: "crashed:8080", job: "vsmanager"}}
            exp_annotations:
              summary: "the game server on crashed:8080 has not been running for 5 minutes"
      - eval_time: 14m  # samples 45 s apart: increase() extrapolates 3 crashes to 3.11
        alertname: GameServerCrashLooping
        exp_alerts:
          - exp_labels: {{instance: "crashed:8080", job: "vsmanager"}}
            exp_annotations:
              summary: "the game server on crashed:8080 crashed 3 times in 15 minutes"
""")
    result = subprocess.run([promtool(), "test", "rules", "test.yml"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_verified_backup_fires_after_26_hours_only(tmp_path: Path) -> None:
    """Promtool's clock starts at 0: a verified backup at -100000 s is over 26 hours old at
    11 minutes, one at 0 s is not."""
    (tmp_path / "rules.yml").write_text(documented_rules())
    (tmp_path / "test.yml").write_text("""\
rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'vsmanager_backup_last_verified_time_seconds{instance="old:8080", job="vsmanager"}'
        values: "-100000x20"
      - series: 'vsmanager_backup_last_verified_time_seconds{instance="fresh:8080", job="vsmanager"}'
        values: "0x20"
    alert_rule_test:
      - eval_time: 11m
        alertname: NoVerifiedBackup
        exp_alerts:
          - exp_labels: {instance: "old:8080", job: "vsmanager"}
            exp_annotations:
              summary: "no verified backup of the world on old:8080 in 26 hours"
""")
    result = subprocess.run([promtool(), "test", "rules", "test.yml"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
