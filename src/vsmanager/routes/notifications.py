"""Notification targets (masked) with their last delivery, and a test message. Admin tests;
Monitor reads."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status

from vsmanager.notify.notifier import Notifier
from vsmanager.routes.deps import AdminIdentity, AnyIdentity, audit
from vsmanager.routes.errors import ApiError

router = APIRouter(prefix="/notifications", tags=["notifications"])


def get_notifier(request: Request) -> Notifier:
    notifier: Notifier = request.app.state.notifier
    return notifier


NotifierDep = Annotated[Notifier, Depends(get_notifier)]


@router.get("")
async def list_targets(identity: AnyIdentity, notifier: NotifierDep) -> dict[str, Any]:
    return {"file": str(notifier.path) if notifier.path is not None else None,
            "file_error": notifier.file_error, "targets": notifier.describe()}


@router.post("/{name}/test", status_code=status.HTTP_202_ACCEPTED)
async def test_target(identity: AdminIdentity, notifier: NotifierDep, request: Request,
                      name: str) -> dict[str, Any]:
    """Queue a ``test`` event for this target; its outcome shows in the list's ``last``."""
    if name not in notifier.workers:
        raise ApiError(404, "not_found", f"no working notification target named {name!r}")
    if not notifier.test(name):
        raise ApiError(503, "queue_full", f"target {name!r} has too many messages waiting")
    audit(request, "notification_test", identity, target=name)
    return {"target": name, "queued": True}
