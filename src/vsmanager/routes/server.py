"""The game server's lifecycle: status, start, stop, restart."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import structlog
from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, Field

from vsmanager.game.supervisor import Supervisor
from vsmanager.routes.deps import AdminRole, AnyRole, SupervisorDep, audit, client_address
from vsmanager.routes.metrics import GameStatus

log = structlog.get_logger("vsmanager.api")
router = APIRouter(prefix="/server", tags=["server"])

# How long ?wait=true may hold a request before answering with the state reached so far.
MAX_WAIT_S = 120.0


class LastRun(BaseModel):
    run: int
    started_at: str
    ended_at: str | None
    exit_code: int | None = Field(description="Negative: killed by that signal.")
    outcome: Literal["stopped", "crashed", "killed"] | None


class Countdown(BaseModel):
    schedule: str
    action: str
    at: str = Field(description="When the action comes (ISO 8601).")


class ServerStatus(BaseModel):
    state: Literal["stopped", "starting", "running", "stopping", "crashed"]
    pid: int | None
    uptime_s: float | None
    exit_code: int | None
    started_at: str | None
    restarts: int
    console_id: str = Field(description="This vsmanager process's console numbering (new per start).")
    run: int | None = Field(description="The current (or latest) run, from 1; null before any.")
    run_first_seq: int | None = Field(
        None, description="The first seq that run's lines may have (docs/reliability.md).")
    last_run: LastRun | None = Field(description="How the latest run that ended, ended.")
    restart_policy: Literal["on-crash", "never"]
    next_restart_at: str | None = Field(description="When the game starts again after a crash.")
    crashes: int = Field(description="Crashes within VS_SERVER_RESTART_WINDOW.")
    gave_up: bool = Field(description="Crashed VS_SERVER_RESTART_LIMIT times: not restarting.")
    leftover_pids: list[int] = Field(
        description="Processes still holding the game's console after it exited.")
    game: GameStatus
    countdown: Countdown | None = Field(None, description="A schedule's pending action, while its "
                                        "warnings count down (docs/automation.md).")


@router.get("/status", response_model=ServerStatus)
async def get_status(role: AnyRole, supervisor: SupervisorDep) -> dict[str, object]:
    return supervisor.status()


Wait = Query(
    default=0.0,
    ge=0,
    le=MAX_WAIT_S,
    description="Seconds to wait for the action to finish before answering (0: answer at once).",
)


_START_FAILED: dict[int | str, dict[str, Any]] = {
    503: {"description": "The game could not be started (start_failed)."}
}


@router.post("/start", response_model=ServerStatus, status_code=status.HTTP_202_ACCEPTED,
             responses=_START_FAILED)
async def start(
    identity: AdminRole, supervisor: SupervisorDep, request: Request, wait: float = Wait
) -> dict[str, object]:
    log.info("server_action", action="start", key_name=identity.name, role=identity.role.value,
             client=client_address(request))
    await supervisor.start(by=identity.name)
    audit(request, "start", identity)
    await _wait_settled(supervisor, wait)
    return supervisor.status()


@router.post("/stop", response_model=ServerStatus, status_code=status.HTTP_202_ACCEPTED)
async def stop(
    identity: AdminRole, supervisor: SupervisorDep, request: Request, wait: float = Wait
) -> dict[str, object]:
    log.info("server_action", action="stop", key_name=identity.name, role=identity.role.value,
             client=client_address(request))
    await supervisor.stop(by=identity.name)
    audit(request, "stop", identity)
    await supervisor.wait_exited(wait)
    return supervisor.status()


@router.post("/restart", response_model=ServerStatus, status_code=status.HTTP_202_ACCEPTED,
             responses=_START_FAILED)
async def restart(
    identity: AdminRole, supervisor: SupervisorDep, request: Request, wait: float = Wait
) -> dict[str, object]:
    log.info("server_action", action="restart", key_name=identity.name, role=identity.role.value,
             client=client_address(request))
    # A server that is not alive: start_failed raised here.
    started = await supervisor.restart(by=identity.name)
    audit(request, "restart", identity)
    if wait > 0:
        # A start failure after the stop answers like start does (503 start_failed).
        done, _ = await asyncio.wait({started}, timeout=wait)
        if started in done:
            started.result()
        await _wait_settled(supervisor, wait)
    return supervisor.status()


async def _wait_settled(supervisor: Supervisor, wait: float) -> None:
    if wait > 0:
        await supervisor.wait_settled(wait)
