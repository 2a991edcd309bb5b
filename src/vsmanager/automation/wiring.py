"""Puts schedules (and their notifications) to work inside the app's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from vsmanager import __version__
from vsmanager.access.audit import AuditLog
from vsmanager.access.auth import KeyRing
from vsmanager.automation.actions import ActionRegistry, add_builtin_actions
from vsmanager.automation.metrics import NotificationCollector, ScheduleCollector
from vsmanager.automation.scheduler import Scheduler
from vsmanager.config.settings import Settings
from vsmanager.console.feed import ConsoleFeed
from vsmanager.game.supervisor import Supervisor
from vsmanager.notify.notifier import Notifier
from vsmanager.notify.sources import GameEvents, watch_console, watch_keys


@contextlib.asynccontextmanager
async def start_notifications(app: FastAPI, settings: Settings, supervisor: Supervisor, feed: ConsoleFeed,
                              keyring: KeyRing) -> AsyncIterator[Notifier]:
    """The notifier and its sources. Left last, after the game stopped: its final messages
    (vsmanager stopping, the game stopped) get a few seconds to go out."""
    notifier = Notifier(settings)
    listener = GameEvents(supervisor, notifier)
    registry = getattr(app.state, "registry", None)
    collector = NotificationCollector(notifier)
    if registry is not None:
        registry.register(collector)
    async with notifier:
        app.state.notifier = notifier
        supervisor.state_listeners.append(listener)
        tasks = [asyncio.create_task(watch_console(feed, supervisor, notifier), name="notify-console"),
                 asyncio.create_task(watch_keys(keyring, notifier), name="notify-keys")]
        notifier.emit("vsmanager_started", {"version": __version__})
        try:
            yield notifier
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            supervisor.state_listeners.remove(listener)
            if registry is not None:
                registry.unregister(collector)


@contextlib.asynccontextmanager
async def start_automation(app: FastAPI, settings: Settings, supervisor: Supervisor, feed: ConsoleFeed,
                           audit: AuditLog, notifier: Notifier) -> AsyncIterator[Scheduler]:
    # Other packages add their actions (backup) to app.state.schedule_actions before this.
    actions: ActionRegistry = getattr(app.state, "schedule_actions", None) or ActionRegistry()
    app.state.schedule_actions = actions
    add_builtin_actions(actions, supervisor)
    scheduler = Scheduler(settings.schedules_file, supervisor, feed, audit, actions, emit=notifier.emit)
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
