"""What every route needs: the app's parts, and the key check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from vsmanager import clients
from vsmanager.auth import KeyRing, Role, allows
from vsmanager.errors import ApiError
from vsmanager.feed import ConsoleFeed
from vsmanager.settings import Settings
from vsmanager.supervisor import Supervisor

# auto_error=False: a missing key is our 401 with our error body, not FastAPI's 403.
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_supervisor(request: Request) -> Supervisor:
    supervisor: Supervisor = request.app.state.supervisor
    return supervisor


def get_feed(request: Request) -> ConsoleFeed:
    feed: ConsoleFeed = request.app.state.feed
    return feed


def client_address(request: Request) -> str:
    return clients.client_address(request)  # the one answer, trusted proxies applied


def require(needed: Role) -> Callable[..., Role]:
    def check(request: Request, key: Annotated[str | None, Depends(api_key_header)]) -> Role:
        keyring: KeyRing = request.app.state.keyring
        role = keyring.role_for(key)
        if role is None:
            message = "missing API key" if not key else "invalid API key"
            raise ApiError(401, "unauthorized", f"{message}: send it in the X-API-Key header")
        if not allows(role, needed):
            raise ApiError(403, "forbidden", f"this needs the {needed.value} role")
        return role

    return check


AdminRole = Annotated[Role, Depends(require(Role.ADMIN))]
AnyRole = Annotated[Role, Depends(require(Role.MONITOR))]
SupervisorDep = Annotated[Supervisor, Depends(get_supervisor)]
FeedDep = Annotated[ConsoleFeed, Depends(get_feed)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
