"""What every route needs: the app's parts, the client's address, and the key check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPBearer
from starlette.requests import HTTPConnection

from vsmanager.access.gatekeeper import AuthRefused, Gatekeeper
from vsmanager.access.roles import Identity, Role
from vsmanager.config.settings import Settings
from vsmanager.console.feed import ConsoleFeed
from vsmanager.edge import bodylimit, clients
from vsmanager.game.supervisor import Supervisor
from vsmanager.routes.errors import ApiError

# auto_error=False: a missing key is our 401 with our error body, not FastAPI's 403. Both
# are declared so that the schema documents both ways of sending a key; the check reads the
# headers itself (see presented_key).
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)
bearer = HTTPBearer(auto_error=False)


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_supervisor(request: Request) -> Supervisor:
    supervisor: Supervisor = request.app.state.supervisor
    return supervisor


def get_feed(request: Request) -> ConsoleFeed:
    feed: ConsoleFeed = request.app.state.feed
    return feed


def get_gatekeeper(conn: HTTPConnection) -> Gatekeeper:
    gatekeeper: Gatekeeper = conn.app.state.gatekeeper
    return gatekeeper


def client_host(conn: HTTPConnection) -> str:
    """The client's address without the port (trusted proxies applied): what the failure
    throttle counts by."""
    return clients.client_host(conn)


def client_address(conn: HTTPConnection) -> str:
    return clients.client_address(conn)  # the one answer, trusted proxies applied


def presented_key(conn: HTTPConnection) -> str | None:
    """The key in ``X-API-Key`` or ``Authorization: Bearer``, trimmed."""
    return bodylimit.presented_key(conn.scope)


def authenticate(conn: HTTPConnection, *, key: str | None = None, ticket: str | None = None) -> Identity:
    """The identity behind ``key`` or ``ticket``; raises :class:`AuthRefused`."""
    try:
        return get_gatekeeper(conn).authenticate(client_host(conn), client_address(conn),
                                                 key=key, ticket=ticket)
    except AuthRefused:
        feed: ConsoleFeed | None = getattr(conn.app.state, "feed", None)
        if feed is not None:  # counted for /metrics, by transport
            feed.counters.auth_failed(conn.scope["type"])
        raise


def api_error(exc: AuthRefused) -> ApiError:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    return ApiError(exc.status, exc.code, exc.message, headers=headers)


def require(needed: Role) -> Callable[..., Identity]:
    def check(
        request: Request,
        _key: Annotated[str | None, Depends(api_key_header)],
        _bearer: Annotated[object, Depends(bearer)],
    ) -> Identity:
        try:
            identity = authenticate(request, key=presented_key(request))
            get_gatekeeper(request).authorize(identity, needed)
        except AuthRefused as exc:
            raise api_error(exc) from None
        return identity

    return check


AdminIdentity = Annotated[Identity, Depends(require(Role.ADMIN))]
AnyIdentity = Annotated[Identity, Depends(require(Role.MONITOR))]
# The names routes used when a key was only a role; they now give the whole identity.
AdminRole = AdminIdentity
AnyRole = AnyIdentity
SupervisorDep = Annotated[Supervisor, Depends(get_supervisor)]
FeedDep = Annotated[ConsoleFeed, Depends(get_feed)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
GatekeeperDep = Annotated[Gatekeeper, Depends(get_gatekeeper)]


def audit(conn: HTTPConnection, action: str, identity: Identity, **fields: Any) -> None:
    """Record in the audit log that ``identity`` did ``action`` from this client."""
    get_gatekeeper(conn).audit.record(action, name=identity.name, role=identity.role.value,
                                      client=client_address(conn), **fields)


def websocket_identity(websocket: HTTPConnection) -> Identity:
    """Who opens a socket: by ``?ticket=``, else by a key in a header or ``?api_key=``."""
    ticket = websocket.query_params.get("ticket")
    if ticket is not None:
        return authenticate(websocket, ticket=ticket)
    key = presented_key(websocket) or websocket.query_params.get("api_key")
    return authenticate(websocket, key=key)
