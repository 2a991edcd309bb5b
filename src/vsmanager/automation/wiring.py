"""Puts schedules (and their notifications) to work inside the app's lifespan."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from vsmanager.access.audit import AuditLog
from vsmanager.automation.actions import ActionRegistry, add_builtin_actions
from vsmanager.automation.metrics import ScheduleCollector
from vsmanager.automation.scheduler import Scheduler
from vsmanager.config.settings import Settings
from vsmanager.console.feed import ConsoleFeed
from vsmanager.game.supervisor import Supervisor


@contextlib.asynccontextmanager
async def start_automation(app: FastAPI, settings: Settings, supervisor: Supervisor, feed: ConsoleFeed,
                           audit: AuditLog) -> AsyncIterator[Scheduler]:
    # Other packages add their actions (backup) to app.state.schedule_actions before this.
    actions: ActionRegistry = getattr(app.state, "schedule_actions", None) or ActionRegistry()
    app.state.schedule_actions = actions
    add_builtin_actions(actions, supervisor)
    scheduler = Scheduler(settings.schedules_file, supervisor, feed, audit, actions)
    supervisor.status_parts["countdown"] = scheduler.countdown
    registry = getattr(app.state, "registry", None)
    collector = ScheduleCollector(scheduler)
    if registry is not None:
        registry.register(collector)
    try:
        async with scheduler:
            yield scheduler
    finally:
        supervisor.status_parts.pop("countdown", None)
        if registry is not None:
            registry.unregister(collector)
