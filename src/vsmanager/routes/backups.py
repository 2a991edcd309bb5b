"""Backups (issue #19): list, make, look at, download, verify, delete, restore."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from vsmanager.backups.archive import sha256_of
from vsmanager.backups.jobs import BackupRefused
from vsmanager.backups.service import BackupService
from vsmanager.routes.deps import AdminRole, AnyRole, audit
from vsmanager.routes.errors import ApiError

router = APIRouter(prefix="/backups", tags=["backups"])
CHUNK = 1 << 16


def get_backups(request: Request) -> BackupService:
    service: BackupService = request.app.state.backups
    return service


BackupsDep = Annotated[BackupService, Depends(get_backups)]


class RestoreRequest(BaseModel):
    confirm: str | None = None


def _refused(exc: BackupRefused) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message)


@router.get("")
async def list_backups(role: AnyRole, service: BackupsDep) -> dict[str, Any]:
    try:
        items = [b.summary() for b in service.store.all()]
    except BackupRefused as exc:
        raise _refused(exc) from None
    busy = service.busy.id if service.busy else None
    return {"backups": items, "busy": busy}


@router.post("", status_code=status.HTTP_202_ACCEPTED)
async def create_backup(identity: AdminRole, service: BackupsDep, request: Request) -> dict[str, Any]:
    try:
        id = service.start_backup(made_by=identity.name)
    except BackupRefused as exc:
        raise _refused(exc) from None
    audit(request, "backup_start", identity, backup=id)
    return {"id": id}


@router.get("/{id}")
async def get_backup(id: str, identity: AdminRole, service: BackupsDep) -> dict[str, Any]:
    try:
        return service.status(id)
    except BackupRefused as exc:
        raise _refused(exc) from None


@router.get("/{id}/download")
async def download_backup(id: str, identity: AdminRole, service: BackupsDep,
                          request: Request) -> StreamingResponse:
    try:
        backup = service.get(id)
    except BackupRefused as exc:
        raise _refused(exc) from None
    path = backup.path
    digest = await asyncio.to_thread(sha256_of, path)  # the header must say what is sent
    size = path.stat().st_size
    audit(request, "backup_download", identity, backup=id)
    service.downloading[id] = service.downloading.get(id, 0) + 1

    def body() -> Iterator[bytes]:  # a plain iterator: Starlette reads it in a worker thread
        try:
            with open(path, "rb") as f:
                while chunk := f.read(CHUNK):
                    yield chunk
        finally:
            service.downloading[id] -= 1
            if not service.downloading[id]:
                del service.downloading[id]

    return StreamingResponse(body(), media_type="application/octet-stream", headers={
        "Content-Length": str(size), "X-Content-SHA256": digest,
        "Content-Disposition": f'attachment; filename="{path.name}"'})


@router.post("/{id}/verify")
async def verify_backup(id: str, identity: AdminRole, service: BackupsDep, request: Request) -> dict[str, Any]:
    try:
        found = await service.verify(id)
    except BackupRefused as exc:
        raise _refused(exc) from None
    audit(request, "backup_verify", identity, backup=id, verified=found["verified"])
    return found


@router.delete("/{id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_backup(id: str, identity: AdminRole, service: BackupsDep, request: Request) -> None:
    try:
        service.delete(id)
    except BackupRefused as exc:
        raise _refused(exc) from None
    audit(request, "backup_delete", identity, backup=id)


@router.post("/{id}/restore", status_code=status.HTTP_202_ACCEPTED)
async def restore_backup(id: str, body: RestoreRequest, identity: AdminRole, service: BackupsDep,
                         request: Request) -> dict[str, Any]:
    try:
        service.start_restore(id, body.confirm, by=identity.name)
    except BackupRefused as exc:
        raise _refused(exc) from None
    audit(request, "restore_start", identity, backup=id)
    return {"id": id}
