"""``GET /server/metrics`` (the JSON series) and ``GET /metrics`` (Prometheus) on a real
vsmanager, scraped and parsed with prometheus-client's own parser."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from harness import ADMIN_KEY, TIME_SCALE, VsManager, run_vsmanager, simulator_command

TIMEOUT = 10 * TIME_SCALE
SAMPLE_FIELDS = {"t", "game_cpu_percent", "game_rss_bytes", "game_threads", "self_cpu_percent",
                 "self_rss_bytes", "lines_per_second", "clients", "players_online"}


@pytest.fixture(scope="module")
def sampled() -> Iterator[VsManager]:
    """A simulator with two players, sampled twice a second."""
    with run_vsmanager(simulator_command("--players", "2", "--event-interval", "1000"),
                       metrics_interval="0.5") as manager:
        manager.wait_for_state("running")
        yield manager


def series(vsm: VsManager, key: str | None = ADMIN_KEY, **params: object) -> httpx.Response:
    with vsm.client(key) as client:
        return client.get("/server/metrics", params=params)


def wait_for_samples(vsm: VsManager, count: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + TIMEOUT * 2
    samples: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        samples = series(vsm).json()["samples"]
        if len(samples) >= count:
            return samples
        time.sleep(0.1)
    raise AssertionError(f"only {len(samples)} samples")


Scraped = dict[str, dict[tuple[tuple[str, str], ...], float]]


def scrape(vsm: VsManager, headers: dict[str, str] | None = None) -> Scraped:
    """Scrape /metrics: {sample name: {sorted labels: value}}."""
    response = httpx.get(f"{vsm.url}/metrics", headers=headers or {"X-API-Key": vsm.monitor_key},
                         timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    out: Scraped = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def value(metrics: Scraped, name: str, **labels: str) -> float:
    return metrics[name][tuple(sorted(labels.items()))]


# -- the JSON series ---------------------------------------------------------------------------

def test_series_has_the_documented_samples(sampled: VsManager) -> None:
    samples = wait_for_samples(sampled, 3)
    body = series(sampled).json()
    assert body["interval_s"] == 0.5
    for sample in samples:
        assert set(sample) == SAMPLE_FIELDS
    latest = samples[-1]
    assert isinstance(latest["game_rss_bytes"], int) and latest["game_rss_bytes"] > 1024 * 1024
    assert isinstance(latest["game_threads"], int) and latest["game_threads"] >= 1
    # The first sample is taken as the game starts (one thread, maybe still the exec shim);
    # the simulator's reader thread shows in a later one.
    deadline = time.monotonic() + TIMEOUT
    while int(series(sampled).json()["samples"][-1]["game_threads"] or 0) < 2:
        assert time.monotonic() < deadline, "the game's second thread never showed in a sample"
        time.sleep(0.1)
    assert isinstance(latest["self_rss_bytes"], int) and latest["self_rss_bytes"] > 1024 * 1024
    times = [sample["t"] for sample in samples]
    assert times == sorted(times)
    gaps = [b - a for a, b in itertools.pairwise(times)]  # type: ignore[operator]
    # On a grid of 0.5 s: a sample a loaded machine takes late is followed by one on time.
    assert all(0 < gap < 0.5 + 2 * TIME_SCALE for gap in gaps), gaps
    assert sum(gaps) / len(gaps) > 0.3, gaps
    deadline = time.monotonic() + TIMEOUT
    while series(sampled).json()["samples"][-1]["players_online"] != 2:
        assert time.monotonic() < deadline, "the players never showed in a sample"
        time.sleep(0.1)


def test_since_gives_only_the_samples_after_it(sampled: VsManager) -> None:
    samples = wait_for_samples(sampled, 3)
    since = samples[-2]["t"]
    after = series(sampled, since=since).json()["samples"]
    assert after and all(sample["t"] > since for sample in after)  # type: ignore[operator]
    assert after[0] == samples[-1]
    assert series(sampled, since=time.time() + 3600).json()["samples"] == []


def test_series_is_for_any_key_and_only_with_one(sampled: VsManager) -> None:
    assert series(sampled, sampled.monitor_key).status_code == 200
    assert series(sampled, None).status_code == 401
    assert series(sampled, "not-a-key-at-all-000000").status_code == 401
    assert series(sampled, since="yesterday").status_code == 422


def test_lines_per_second_follows_the_console() -> None:
    with run_vsmanager(simulator_command("--events-per-second", "100"), metrics_interval="0.5") as vsm:
        vsm.wait_for_state("running")
        samples = wait_for_samples(vsm, 4)
        assert max(float(s["lines_per_second"]) for s in samples[-3:]) > 30  # type: ignore[arg-type]


# -- Prometheus --------------------------------------------------------------------------------

def test_prometheus_needs_a_key_unless_public(sampled: VsManager) -> None:
    url = f"{sampled.url}/metrics"
    assert httpx.get(url, timeout=TIMEOUT).status_code == 401
    assert httpx.get(url, headers={"X-API-Key": "wrong-key-000000000000"}, timeout=TIMEOUT).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer wrong-key-00000000"},
                     timeout=TIMEOUT).status_code == 401
    assert httpx.get(url, headers={"X-API-Key": sampled.admin_key}, timeout=TIMEOUT).status_code == 200
    ok = httpx.get(url, headers={"Authorization": f"Bearer {sampled.monitor_key}"}, timeout=TIMEOUT)
    assert ok.status_code == 200


def test_prometheus_public_needs_no_key() -> None:
    with run_vsmanager(simulator_command(), metrics_public="true") as vsm:
        response = httpx.get(f"{vsm.url}/metrics", timeout=TIMEOUT)
        assert response.status_code == 200
        assert "vsmanager_game_up" in response.text


def test_prometheus_game_facts_and_resources(sampled: VsManager) -> None:
    wait_for_samples(sampled, 2)
    metrics = scrape(sampled)
    assert value(metrics, "vsmanager_game_state", state="running") == 1
    assert value(metrics, "vsmanager_game_state", state="crashed") == 0
    assert value(metrics, "vsmanager_game_up") == 1
    assert value(metrics, "vsmanager_game_runs_total") == 1
    assert value(metrics, "vsmanager_game_restarts_total") == 0
    assert value(metrics, "vsmanager_game_crashes_total") == 0
    assert value(metrics, "vsmanager_game_players_online") == 2
    assert value(metrics, "vsmanager_game_info", version="1.22.6", channel="Stable") == 1
    assert value(metrics, "vsmanager_game_cpu_seconds_total") > 0
    assert value(metrics, "vsmanager_game_resident_memory_bytes") > 1024 * 1024
    assert value(metrics, "vsmanager_game_threads") >= 2
    assert value(metrics, "vsmanager_console_lines_read_total", stream="stdout") > 20
    assert value(metrics, "vsmanager_console_bytes_read_total", stream="stdout") > 500
    assert value(metrics, "vsmanager_metrics_samples_total") >= 2
    assert value(metrics, "vsmanager_metrics_sampling_cpu_seconds_total") > 0
    # The library's own process collector describes vsmanager itself.
    assert value(metrics, "process_resident_memory_bytes") > 0


def test_prometheus_counts_commands_auth_failures_and_clients() -> None:
    with run_vsmanager(simulator_command("--events-per-second", "50")) as vsm:
        vsm.wait_for_state("running")
        before = scrape(vsm)
        with vsm.client() as client:
            for _ in range(3):
                assert client.post("/console/command", json={"command": "/time"}).status_code == 202
        with vsm.client("wrong-key-0000000000000") as client:
            assert client.get("/server/status").status_code == 401

        async def clients() -> None:
            async with connect(vsm.ws_url(format="json"), open_timeout=TIMEOUT) as ws:
                for _ in range(3):
                    await asyncio.wait_for(ws.recv(), TIMEOUT)
            with pytest.raises(ConnectionClosed):
                async with connect(vsm.ws_url("wrong-key-0000000000000"), open_timeout=TIMEOUT) as ws:
                    await asyncio.wait_for(ws.recv(), TIMEOUT)

        asyncio.run(clients())
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            after = scrape(vsm)
            if after.get("vsmanager_websocket_clients_closed_total", {}).get((("code", "1000"),)):
                break
            time.sleep(0.05)
        # An Admin's scrape names the key (VS_API_KEY_ADMIN's name); a Monitor's (the
        # default here) counts the same commands without learning whose key sent them.
        admin_view = scrape(vsm, {"X-API-Key": vsm.admin_key})
        assert value(admin_view, "vsmanager_commands_total", key="admin") == 3
        ((labels, count),) = after["vsmanager_commands_total"].items()
        assert count == 3 and dict(labels)["key"].startswith("key-") and "admin" not in dict(labels)["key"]
        assert value(after, "vsmanager_auth_failures_total", transport="http") >= 1 + value(
            before, "vsmanager_auth_failures_total", transport="http")
        assert value(after, "vsmanager_auth_failures_total", transport="websocket") == 1
        assert value(after, "vsmanager_websocket_clients_closed_total", code="1000") == 1
        assert value(after, "vsmanager_websocket_connections_total") == 1
        assert value(after, "vsmanager_websocket_clients") == 0
        assert value(after, "vsmanager_websocket_frames_sent_total") >= 3
        assert value(after, "vsmanager_websocket_send_seconds_count") == value(
            after, "vsmanager_websocket_frames_sent_total")
        assert value(after, "vsmanager_websocket_send_seconds_bucket", le="+Inf") == value(
            after, "vsmanager_websocket_send_seconds_count")
        assert value(after, "vsmanager_console_lines_read_total", stream="command") == 3


def test_prometheus_counts_a_crash() -> None:
    with run_vsmanager(simulator_command(), server_restart="never") as vsm:
        vsm.wait_for_state("running")
        with vsm.client() as client:
            client.post("/console/command", json={"command": "/crash 3"})
        vsm.wait_for_state("crashed")
        metrics = scrape(vsm)
        assert value(metrics, "vsmanager_game_crashes_total") == 1
        assert value(metrics, "vsmanager_game_up") == 0
        assert value(metrics, "vsmanager_game_state", state="crashed") == 1
        assert value(metrics, "vsmanager_game_players_online") == 0


def test_prometheus_reports_lines_dropped_in_gaps() -> None:
    # A tiny buffer and a client that starts from seq 1 after it has rolled over.
    with run_vsmanager(simulator_command("--events-per-second", "400"), console_buffer_lines="50",
                       console_buffer_bytes=str(256 * 1024), console_max_line_bytes="1024") as vsm:
        vsm.wait_for_state("running")
        deadline = time.monotonic() + TIMEOUT
        while vsm.history(lines=1)["last_seq"] < 200 and time.monotonic() < deadline:  # type: ignore[operator]
            time.sleep(0.05)

        async def resume_from_the_start() -> None:
            async with connect(vsm.ws_url(format="json", after=1), open_timeout=TIMEOUT) as ws:
                async with asyncio.timeout(TIMEOUT):
                    while '"gap"' not in str(await ws.recv()):
                        pass

        asyncio.run(resume_from_the_start())
        metrics = scrape(vsm)
        assert value(metrics, "vsmanager_console_gaps_sent_total") >= 1
        assert value(metrics, "vsmanager_console_lines_dropped_total") >= 100


def test_prometheus_counts_runs_and_restarts_of_a_crash_restarted() -> None:
    with run_vsmanager(simulator_command(), server_restart_delay="0.2") as vsm:
        vsm.wait_for_state("running")
        with vsm.client() as client:
            client.post("/console/command", json={"command": "/crash 3"})
        deadline = time.monotonic() + TIMEOUT * 2
        while time.monotonic() < deadline:
            status = vsm.status()
            if status["run"] == 2 and status["state"] == "running":
                break
            time.sleep(0.05)
        metrics = scrape(vsm)
        assert value(metrics, "vsmanager_game_runs_total") == 2
        assert value(metrics, "vsmanager_game_restarts_total") == 1
        assert value(metrics, "vsmanager_game_crashes_total") == 1
        assert value(metrics, "vsmanager_game_up") == 1
