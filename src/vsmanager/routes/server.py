"""The game server's lifecycle: status, start, stop, restart."""

from __future__ import annotations

from typing import Literal

import structlog
from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, Field

from vsmanager.routes.deps import AdminRole, AnyRole, SupervisorDep, client_address
from vsmanager.routes.metrics import GameStatus
from vsmanager.supervisor import Supervisor

log = structlog.get_logger("vsmanager.api")
router = APIRouter(prefix="/server", tags=["server"])

# How long ?wait=true may hold a request before answering with the state reached so far.
MAX_WAIT_S = 120.0


class ServerStatus(BaseModel):
    state: Literal["stopped", "starting", "running", "stopping", "crashed"]
    pid: int | None
    uptime_s: float | None
    exit_code: int | None
    started_at: str | None
    restarts: int
    console_id: str = Field(description="This vsmanager process's console numbering (new per start).")
    game: GameStatus


@router.get("/status", response_model=ServerStatus)
async def get_status(role: AnyRole, supervisor: SupervisorDep) -> dict[str, object]:
    return supervisor.status()


Wait = Query(
    default=0.0,
    ge=0,
    le=MAX_WAIT_S,
    description="Seconds to wait for the action to finish before answering (0: answer at once).",
)


@router.post("/start", response_model=ServerStatus, status_code=status.HTTP_202_ACCEPTED)
async def start(
    role: AdminRole, supervisor: SupervisorDep, request: Request, wait: float = Wait
) -> dict[str, object]:
    log.info("server_action", action="start", role=role.value, client=client_address(request))
    await supervisor.start()
    await _wait_settled(supervisor, wait)
    return supervisor.status()


@router.post("/stop", response_model=ServerStatus, status_code=status.HTTP_202_ACCEPTED)
async def stop(
    role: AdminRole, supervisor: SupervisorDep, request: Request, wait: float = Wait
) -> dict[str, object]:
    log.info("server_action", action="stop", role=role.value, client=client_address(request))
    await supervisor.stop()
    await supervisor.wait_exited(wait)
    return supervisor.status()


@router.post("/restart", response_model=ServerStatus, status_code=status.HTTP_202_ACCEPTED)
async def restart(
    role: AdminRole, supervisor: SupervisorDep, request: Request, wait: float = Wait
) -> dict[str, object]:
    log.info("server_action", action="restart", role=role.value, client=client_address(request))
    await supervisor.restart()
    await _wait_settled(supervisor, wait)
    return supervisor.status()


async def _wait_settled(supervisor: Supervisor, wait: float) -> None:
    if wait > 0:
        await supervisor.wait_settled(wait)
