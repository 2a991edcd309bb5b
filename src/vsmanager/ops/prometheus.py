"""``GET /metrics`` in the Prometheus text format: one custom collector reads vsmanager's
plain counters when scraped (see vsmanager.console.counters for why they are not prometheus-client
counters), beside the library's own process and Python collectors.

Every metric is named ``vsmanager_*``; docs/operations.md lists them with alert rules.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterator, Mapping
from contextvars import ContextVar

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from vsmanager import __version__
from vsmanager.console.counters import CLOSE_CODE_LABELS, ConsoleCounters
from vsmanager.console.feed import ConsoleFeed
from vsmanager.game.supervisor import ServerState, Supervisor
from vsmanager.ops.metrics import MetricsSampler

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Whether the scrape being rendered may show key names (set by render, read by the collector).
_key_names_shown: ContextVar[bool] = ContextVar("key_names_shown", default=False)
_NAME_SALT = secrets.token_bytes(16)


class VsmanagerCollector(Collector):
    def __init__(self, supervisor: Supervisor, feed: ConsoleFeed, sampler: MetricsSampler) -> None:
        self.supervisor = supervisor
        self.feed = feed
        self.sampler = sampler

    def collect(self) -> Iterator[Metric]:
        yield from self._console(self.feed.counters)
        yield from self._clients(self.feed.counters)
        yield from self._game()
        yield from self._access(self.feed.counters)
        yield from self._sampler()

    def _console(self, counters: ConsoleCounters) -> Iterator[Metric]:
        yield _by_label(CounterMetricFamily, "vsmanager_console_lines_read",
                        "Console lines, by stream: stdout and stderr read from the game; "
                        "command and system lines added by vsmanager.",
                        "stream", counters.lines_read, ("stdout", "stderr", "command", "system"))
        yield _by_label(CounterMetricFamily, "vsmanager_console_bytes_read",
                        "UTF-8 bytes of those lines (line ends not counted), by stream.",
                        "stream", counters.bytes_read, ("stdout", "stderr", "command", "system"))
        buffer = self.feed.buffer
        yield GaugeMetricFamily("vsmanager_console_buffer_lines", "Lines in the console buffer now.",
                                value=len(buffer))
        yield GaugeMetricFamily("vsmanager_console_buffer_bytes",
                                "Bytes the console buffer counts against its bound now.",
                                value=buffer.bytes_used)
        yield CounterMetricFamily("vsmanager_console_lines_dropped",
                                  "Lines clients fell too far behind to get (reported in gaps).",
                                  value=counters.lines_dropped)
        yield CounterMetricFamily("vsmanager_console_gaps_sent",
                                  "Gap notices sent to clients that fell behind the buffer.",
                                  value=counters.gaps_sent)

    def _clients(self, counters: ConsoleCounters) -> Iterator[Metric]:
        yield GaugeMetricFamily("vsmanager_websocket_clients", "Console WebSocket clients connected now.",
                                value=self.feed.readers)
        yield CounterMetricFamily("vsmanager_websocket_connections",
                                  "Console WebSocket clients that started streaming.",
                                  value=self.feed.sessions_started)
        yield _by_label(CounterMetricFamily, "vsmanager_websocket_clients_closed",
                        "Console WebSocket clients gone, by close code (4008: too slow; "
                        "no_status: none given; other: any code not listed).",
                        "code", counters.clients_closed, CLOSE_CODE_LABELS)
        yield CounterMetricFamily("vsmanager_websocket_frames_sent", "WebSocket frames sent to clients.",
                                  value=counters.frames_sent)
        latency = counters.send_latency
        buckets = counters.send_latency_buckets()
        yield HistogramMetricFamily("vsmanager_websocket_send_seconds",
                                    "Time a frame's send waited for the client's socket.",
                                    buckets=buckets, sum_value=latency.sum)

    def _game(self) -> Iterator[Metric]:
        supervisor = self.supervisor
        state = GaugeMetricFamily("vsmanager_game_state", "The game server's state (1 for the current one).",
                                  labels=["state"])
        for each in ServerState:
            state.add_metric([each.value], 1.0 if supervisor.state is each else 0.0)
        yield state
        yield GaugeMetricFamily("vsmanager_game_up", "1 while the game server is running (ready).",
                                value=1.0 if supervisor.state is ServerState.RUNNING else 0.0)
        status = supervisor.status()
        yield CounterMetricFamily("vsmanager_game_runs", "Times the game server was started.",
                                  value=supervisor.starts)
        yield CounterMetricFamily("vsmanager_game_restarts", "Starts after the first.",
                                  value=int(status.get("restarts") or 0))
        yield CounterMetricFamily("vsmanager_game_crashes",
                                  "Runs that ended in a crash (an exit nobody asked for).",
                                  value=supervisor.crashes_total)
        facts = supervisor.game
        yield GaugeMetricFamily("vsmanager_game_players_online", "Players online, from the console.",
                                value=facts.players_online)
        if facts.players_max is not None:
            yield GaugeMetricFamily("vsmanager_game_players_max", "Player slots, from /stats.",
                                    value=facts.players_max)
        yield CounterMetricFamily("vsmanager_game_overloaded_ticks",
                                  "Ticks the game reported as overloaded.", value=facts.overloaded_ticks)
        if facts.version is not None:
            info = GaugeMetricFamily("vsmanager_game_info", "The game's version, from its console.",
                                     labels=["version", "channel"])
            info.add_metric([facts.version, facts.channel or ""], 1.0)
            yield info
        yield CounterMetricFamily("vsmanager_game_cpu_seconds",
                                  "CPU time of the game's process tree, all runs (as sampled).",
                                  value=self.sampler.game_cpu_seconds_total)
        latest = self.sampler.latest
        if latest is not None and latest.game_rss_bytes is not None:
            yield GaugeMetricFamily("vsmanager_game_resident_memory_bytes",
                                    "Resident memory of the game's process tree (as last sampled).",
                                    value=latest.game_rss_bytes)
            yield GaugeMetricFamily("vsmanager_game_threads", "Threads of the game's process tree.",
                                    value=latest.game_threads or 0)

    def _access(self, counters: ConsoleCounters) -> Iterator[Metric]:
        commands: Mapping[str, float] = counters.commands
        if not _key_names_shown.get():
            commands = {anonymous_key_name(name): count for name, count in commands.items()}
        yield _by_label(CounterMetricFamily, "vsmanager_commands",
                        "Console commands sent to the game, by key name (for Admin scrapes; "
                        "others see key-<hash>, stable while vsmanager runs).", "key", commands)
        yield _by_label(CounterMetricFamily, "vsmanager_auth_failures",
                        "Requests and sockets refused for a missing or wrong key.",
                        "transport", counters.auth_failures, ("http", "websocket"))

    def _sampler(self) -> Iterator[Metric]:
        yield CounterMetricFamily("vsmanager_metrics_samples", "Resource samples taken.",
                                  value=self.sampler.samples_taken)
        yield CounterMetricFamily("vsmanager_metrics_sampling_cpu_seconds",
                                  "CPU time the resource sampler itself used.",
                                  value=self.sampler.sampling_cpu_seconds)
        info = GaugeMetricFamily("vsmanager_info", "vsmanager's version.", labels=["version"])
        info.add_metric([__version__], 1.0)
        yield info


def _by_label(
    family: type[CounterMetricFamily] | type[GaugeMetricFamily],
    name: str,
    documentation: str,
    label: str,
    values: Mapping[str, float],
    always: tuple[str, ...] = (),
) -> Metric:
    """One family with a sample per label value; the ``always`` values appear even at 0,
    so that a rate() has a series from the start."""
    metric = family(name, documentation, labels=[label])
    for value in sorted({*always, *values}):
        metric.add_metric([value], float(values.get(value, 0)))
    return metric


def build_registry(supervisor: Supervisor, feed: ConsoleFeed, sampler: MetricsSampler) -> CollectorRegistry:
    """A registry of this app's own (not the library's global one: several apps may run in
    one process, as in tests)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(VsmanagerCollector(supervisor, feed, sampler))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def render(registry: CollectorRegistry, *, key_names: bool = False) -> bytes:
    """The scrape; ``key_names`` only for an Admin: the names of the keys are who may act."""
    token = _key_names_shown.set(key_names)
    try:
        return generate_latest(registry)
    finally:
        _key_names_shown.reset(token)


def anonymous_key_name(name: str) -> str:
    """A stand-in for a key's name: the same for one name while vsmanager runs, and nothing
    to learn from (keyed with a secret of this process, so a list of names cannot be tried)."""
    return "key-" + hmac.new(_NAME_SALT, name.encode(), hashlib.sha256).hexdigest()[:12]
