"""Liveness and readiness, without a key: for load balancers and service managers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from vsmanager import __version__

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(request: Request) -> dict[str, object]:
    return {
        "status": "ok",
        "version": __version__,
        "server": {"state": request.app.state.supervisor.state.value},
    }


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    if getattr(request.app.state, "ready", False):
        return JSONResponse({"status": "ready"})
    return JSONResponse({"code": "not_ready", "message": "vsmanager is starting"}, 503)
