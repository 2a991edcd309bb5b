"""Everything between the socket and the routes, in the order a request meets it.

See docs/security.md for what each layer defends against and the setting that bounds it.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.routing import Match, Mount
from starlette.types import Scope

from vsmanager.config.settings import Settings
from vsmanager.config.values import parse_networks, parse_origins
from vsmanager.edge.apidocs import install_api_docs
from vsmanager.edge.bodylimit import BodyLimit, presented_key
from vsmanager.edge.clients import ClientAddress, TrustedProxies
from vsmanager.edge.connections import WebSocketCap
from vsmanager.edge.headers import SecurityHeaders
from vsmanager.edge.origins import OriginCheck, OriginPolicy


def install_guards(app: FastAPI, settings: Settings, api_prefix: str) -> None:
    """Add the middleware (the last added runs first) and the local /docs."""

    def has_valid_key(scope: Scope) -> bool:
        # The one early key check: the same lookup the routes' dependency makes.
        return app.state.keyring.role_for(presented_key(scope)) is not None

    app.add_middleware(BodyLimit, max_bytes=settings.http_max_body_bytes,
                       guarded_prefix=api_prefix, has_valid_key=has_valid_key)
    app.add_middleware(WebSocketCap, cap=settings.ws_max_connections_per_client)
    app.add_middleware(OriginCheck, policy=OriginPolicy(parse_origins(settings.allowed_origins)))
    app.add_middleware(ClientAddress, proxies=trusted_proxies(settings))
    app.add_middleware(SecurityHeaders)
    install_api_docs(app, app.title)


def trusted_proxies(settings: Settings) -> TrustedProxies:
    return TrustedProxies(parse_networks(settings.trusted_proxies))


class WebMount(Mount):
    """The web console's files at "/", except under the API prefix: there the router's own
    answers apply (405 with Allow for a known path and a wrong method, 404 for the rest)."""

    def __init__(self, *args: object, api_prefix: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.api_prefix = api_prefix.rstrip("/") + "/"

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope.get("path", "").startswith(self.api_prefix):
            return Match.NONE, {}
        return super().matches(scope)
