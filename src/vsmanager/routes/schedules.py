"""Schedules: list, read, add, replace, remove, pause, resume, run now, and the countdown's
skip and now. Admin changes; Monitor reads."""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Body, Depends, Request, Response, status
from fastapi.responses import JSONResponse

from vsmanager.automation import editing
from vsmanager.automation.editing import EditRefused
from vsmanager.automation.schedule import ScheduleError
from vsmanager.automation.scheduler import Scheduler
from vsmanager.routes.deps import AdminIdentity, AnyIdentity, audit
from vsmanager.routes.errors import ApiError, error_body

log = structlog.get_logger("vsmanager.api")
router = APIRouter(prefix="/schedules", tags=["schedules"])

_STATUS = {"not_found": 404, "exists": 409, "no_file": 409, "invalid": 422, "busy": 409,
           "no_countdown": 409}
Definition = Annotated[dict[str, Any], Body(description="A schedule, with the schedules file's keys.")]


def get_scheduler(request: Request) -> Scheduler:
    scheduler: Scheduler = request.app.state.scheduler
    return scheduler


SchedulerDep = Annotated[Scheduler, Depends(get_scheduler)]


def _refused(exc: EditRefused) -> JSONResponse:
    extra = {"error": exc.error.as_json(), "schedule": exc.error.name} if exc.error else {}
    code = "invalid_schedule" if exc.code == "invalid" else exc.code
    return JSONResponse(error_body(code, exc.message, **extra), _STATUS.get(exc.code, 409))


@router.get("")
async def list_schedules(identity: AnyIdentity, scheduler: SchedulerDep) -> dict[str, Any]:
    names = [entry.name or "?" for entry in scheduler.entries]
    return {
        "file": str(scheduler.path) if scheduler.path is not None else None,
        "file_error": scheduler.file_error,
        "countdown": scheduler.countdown(),
        "schedules": [editing.describe(scheduler, name) for name in names],
    }


@router.post("", status_code=status.HTTP_201_CREATED, response_model=None)
async def add_schedule(identity: AdminIdentity, scheduler: SchedulerDep, request: Request,
                       definition: Definition) -> dict[str, Any] | JSONResponse:
    try:
        editing.add(scheduler, definition)
    except EditRefused as exc:
        return _refused(exc)
    name = str(definition["name"])
    audit(request, "schedule_added", identity, schedule=name)
    return editing.describe(scheduler, name)


@router.post("/preview", response_model=None)
async def preview(identity: AdminIdentity, scheduler: SchedulerDep,
                  definition: Definition) -> dict[str, Any] | JSONResponse:
    """The next five due times of a definition, without saving it."""
    try:
        return {"next": editing.preview({"name": "preview", **definition}, scheduler.actions.names)}
    except ScheduleError as exc:
        return _refused(EditRefused("invalid", str(exc), exc))


@router.get("/{name}", response_model=None)
async def get_schedule(identity: AnyIdentity, scheduler: SchedulerDep,
                       name: str) -> dict[str, Any] | JSONResponse:
    try:
        return editing.describe(scheduler, name)
    except EditRefused as exc:
        return _refused(exc)


@router.put("/{name}", response_model=None)
async def put_schedule(identity: AdminIdentity, scheduler: SchedulerDep, request: Request, name: str,
                       definition: Definition) -> dict[str, Any] | JSONResponse:
    try:
        editing.replace(scheduler, name, definition)
    except EditRefused as exc:
        return _refused(exc)
    audit(request, "schedule_changed", identity, schedule=name)
    return editing.describe(scheduler, name)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT, response_model=None)
async def delete_schedule(identity: AdminIdentity, scheduler: SchedulerDep, request: Request,
                          name: str) -> Response:
    try:
        editing.remove(scheduler, name)
    except EditRefused as exc:
        return _refused(exc)
    audit(request, "schedule_removed", identity, schedule=name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{name}/pause", response_model=None)
async def pause(identity: AdminIdentity, scheduler: SchedulerDep, request: Request,
                name: str) -> dict[str, Any] | JSONResponse:
    return _set_paused(identity, scheduler, request, name, True)


@router.post("/{name}/resume", response_model=None)
async def resume(identity: AdminIdentity, scheduler: SchedulerDep, request: Request,
                 name: str) -> dict[str, Any] | JSONResponse:
    return _set_paused(identity, scheduler, request, name, False)


def _set_paused(identity: Any, scheduler: Scheduler, request: Request, name: str,
                paused: bool) -> dict[str, Any] | JSONResponse:
    try:
        editing.set_paused(scheduler, name, paused)
    except EditRefused as exc:
        return _refused(exc)
    audit(request, "schedule_paused" if paused else "schedule_resumed", identity, schedule=name)
    return editing.describe(scheduler, name)


@router.post("/{name}/run", status_code=status.HTTP_202_ACCEPTED)
async def run_now(identity: AdminIdentity, scheduler: SchedulerDep, request: Request,
                  name: str) -> dict[str, Any]:
    """Act at once, without warnings, whoever is online."""
    schedule = scheduler.schedule(name)
    if schedule is None:
        raise ApiError(404, "not_found", f"no valid schedule named {name!r}")
    if scheduler.is_running(name):
        raise ApiError(409, "busy", f"schedule {name!r} is running; skip its countdown or wait for it")
    run = scheduler.start_run(schedule, None, who=identity.name)
    audit(request, "schedule_run", identity, schedule=name)
    return run.as_json()


@router.post("/{name}/skip", status_code=status.HTTP_202_ACCEPTED)
async def skip(identity: AdminIdentity, scheduler: SchedulerDep, request: Request, name: str) -> dict[str, Any]:
    """Skip the pending countdown: this run does not happen; the next slot stays."""
    return _decide(identity, scheduler, request, name, "skip")


@router.post("/{name}/now", status_code=status.HTTP_202_ACCEPTED)
async def now(identity: AdminIdentity, scheduler: SchedulerDep, request: Request, name: str) -> dict[str, Any]:
    """End the pending countdown: act now."""
    return _decide(identity, scheduler, request, name, "now")


def _decide(identity: Any, scheduler: Scheduler, request: Request, name: str, choice: Any) -> dict[str, Any]:
    countdown = scheduler.countdowns.get(name)
    if countdown is None or not scheduler.decide(name, choice, identity.name):
        raise ApiError(409, "no_countdown", f"schedule {name!r} has no countdown running")
    audit(request, f"schedule_{choice}", identity, schedule=name)
    return {"schedule": name, "choice": choice}
