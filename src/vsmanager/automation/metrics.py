"""Schedules and notifications in ``GET /metrics``: last run and last success per schedule,
runs by outcome; messages delivered, given up and dropped per target."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from vsmanager.automation.history import parse_iso
from vsmanager.automation.scheduler import Scheduler
from vsmanager.notify.notifier import Notifier

OUTCOMES = ("ok", "skipped", "failed", "missed")


class ScheduleCollector(Collector):
    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler

    def collect(self) -> Iterator[Metric]:
        last = GaugeMetricFamily("vsmanager_schedule_last_run_timestamp_seconds",
                                 "When each schedule's latest run ended (any outcome).", labels=["schedule"])
        success = GaugeMetricFamily("vsmanager_schedule_last_success_timestamp_seconds",
                                    "When each schedule's latest ok run ended.", labels=["schedule"])
        runs = CounterMetricFamily("vsmanager_schedule_runs",
                                   "Runs since vsmanager started, by schedule and outcome "
                                   "(ok, skipped, failed, missed).", labels=["schedule", "outcome"])
        names = sorted({e.schedule.name for e in self.scheduler.entries if e.schedule is not None})
        for name in names:
            track = self.scheduler.history.tracks.get(name)
            ended = [r for r in track.runs if r.end and r.outcome] if track else []
            if ended:
                last.add_metric([name], parse_iso(ended[-1].end or "").timestamp())
            ok = [r for r in ended if r.kind == "ok"]
            if ok:
                success.add_metric([name], parse_iso(ok[-1].end or "").timestamp())
            for outcome in OUTCOMES:
                runs.add_metric([name, outcome], float(self.scheduler.counts.get((name, outcome), 0)))
        yield last
        yield success
        yield runs


class NotificationCollector(Collector):
    """Per target, by name (never by URL): delivered, given up and dropped messages."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    def collect(self) -> Iterator[Metric]:
        families = {
            "delivered": CounterMetricFamily("vsmanager_notifications_delivered",
                                             "Messages a target took (2xx), by target.", labels=["target"]),
            "gave_up": CounterMetricFamily("vsmanager_notifications_given_up",
                                           "Messages given up (a 4xx, or retried too long), by target.",
                                           labels=["target"]),
            "dropped": CounterMetricFamily("vsmanager_notifications_dropped",
                                           "Messages dropped because the target's queue was full.",
                                           labels=["target"]),
        }
        for name, worker in sorted(self.notifier.workers.items()):
            for key, family in families.items():
                family.add_metric([name], float(getattr(worker, key)))
        yield from families.values()
