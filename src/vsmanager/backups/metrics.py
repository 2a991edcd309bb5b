"""Backup metrics for ``GET /metrics``: the last backup's time, size and outcome."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from vsmanager.backups.service import BackupService


class BackupCollector(Collector):
    def __init__(self, service: BackupService) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        last = self.service.last
        yield GaugeMetricFamily("vsmanager_backup_last_time_seconds",
                                "When the last backup ended (Unix time; 0: none since start).",
                                value=last.get("time", 0))
        yield GaugeMetricFamily("vsmanager_backup_last_verified_time_seconds",
                                "When the newest verified backup in the backup folder was made "
                                "(Unix time; 0: none).", value=self.service.newest_verified_time())
        yield GaugeMetricFamily("vsmanager_backup_last_size_bytes", "The last backup's archive size.",
                                value=last.get("size", 0))
        outcome = GaugeMetricFamily("vsmanager_backup_last_outcome",
                                    "1 for the last backup's outcome (verified or failed).", labels=["outcome"])
        for name in ("verified", "failed"):
            outcome.add_metric([name], 1 if last.get("outcome") == name else 0)
        yield outcome
