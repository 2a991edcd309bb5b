"""What a schedule can do, by name: restart, stop, start and command are built in; other
packages add theirs (``backup``) with :meth:`ActionRegistry.add`, without this package
knowing them. An action is ``async (schedule, by) -> detail or None``; raising fails the run
with the exception's message."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from vsmanager.automation.schedule import Schedule
from vsmanager.game.supervisor import LifecycleError, ServerState, Supervisor

_T = TypeVar("_T")
Action = Callable[[Any, str], Awaitable[str | None]]


class ActionFailed(Exception):
    """An action that did not do what it should; the message is the outcome's reason."""


class ActionRegistry:
    def __init__(self) -> None:
        self._actions: dict[str, Action] = {}

    def add(self, name: str, action: Action) -> None:
        if name in self._actions:
            raise ValueError(f"action {name!r} is already registered")
        self._actions[name] = action

    def get(self, name: str) -> Action | None:
        return self._actions.get(name)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._actions)


def add_builtin_actions(registry: ActionRegistry, supervisor: Supervisor) -> ActionRegistry:
    settings = supervisor.settings
    # A stop that goes all the way to SIGKILL, and a start that reaches its ready line.
    stop_budget = settings.server_stop_timeout + 2 * settings.server_kill_timeout + 5
    start_budget = settings.server_ready_timeout

    async def restart(schedule: Schedule, by: str) -> str | None:
        done = await _lifecycle(supervisor.restart(by=by))
        try:
            await _lifecycle(_bounded(done, stop_budget + start_budget))
        except TimeoutError:
            raise ActionFailed("the server did not start again in time") from None
        await supervisor.wait_settled(start_budget)
        if supervisor.state is not ServerState.RUNNING:
            raise ActionFailed(f"the server is {supervisor.state.value} after the restart")
        return None

    async def stop(schedule: Schedule, by: str) -> str | None:
        await _lifecycle(supervisor.stop(by=by))
        if not await supervisor.wait_exited(stop_budget):
            raise ActionFailed("the server did not exit in time")
        return None

    async def start(schedule: Schedule, by: str) -> str | None:
        await _lifecycle(supervisor.start(by=by))
        await supervisor.wait_settled(start_budget)
        if supervisor.state is not ServerState.RUNNING:
            raise ActionFailed(f"the server is {supervisor.state.value} after the start")
        return None

    async def command(schedule: Schedule, by: str) -> str | None:
        for index, text in enumerate(schedule.commands):
            try:
                await supervisor.send_command(text, by=by)
            except LifecycleError as exc:
                raise ActionFailed(f"command {index + 1} ({text[:60]}): {exc.message}") from None
        return None

    for name, action in (("restart", restart), ("stop", stop), ("start", start), ("command", command)):
        registry.add(name, action)
    return registry


async def _lifecycle(awaitable: Awaitable[_T]) -> _T:
    try:
        return await awaitable
    except LifecycleError as exc:
        raise ActionFailed(exc.message) from None


async def _bounded(future: Awaitable[None], timeout: float) -> None:
    await asyncio.wait_for(future, timeout)
