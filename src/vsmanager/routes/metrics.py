"""The server's resources over time (``/server/metrics``, JSON) and ``/metrics`` for
Prometheus; also the shape of the game facts in the status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from vsmanager.access.auth import Identity, KeyRing, Role
from vsmanager.access.gatekeeper import AuthRefused
from vsmanager.config.settings import Settings
from vsmanager.ops.metrics import MetricsSampler
from vsmanager.ops.prometheus import CONTENT_TYPE, render
from vsmanager.routes.deps import AnyRole, api_error, authenticate, presented_key

router = APIRouter(prefix="/server", tags=["server"])
prometheus_router = APIRouter(tags=["metrics"])


class GameStatus(BaseModel):
    """What the game's console has said about it (see docs/operations.md)."""

    version: str | None = Field(description="The game's version, e.g. 1.22.6.")
    channel: str | None = Field(description="Its release channel, e.g. Stable.")
    players_online: int
    players_max: int | None = Field(description="Player slots, once /stats has said.")
    players: list[str] = Field(description="Names of the players online, in the order they joined.")
    overloaded_ticks: int = Field(description="Overloaded ticks reported since vsmanager started.")
    last_overload_ms: int | None


class SampleOut(BaseModel):
    t: float = Field(description="Unix time of the sample, in seconds.")
    game_cpu_percent: float | None = Field(description="Of one core; null while no game runs.")
    game_rss_bytes: int | None
    game_threads: int | None
    self_cpu_percent: float
    self_rss_bytes: int
    lines_per_second: float
    clients: int = Field(description="Console WebSocket clients connected.")
    players_online: int


class MetricsOut(BaseModel):
    interval_s: float
    samples: list[SampleOut]


def get_sampler(request: Request) -> MetricsSampler:
    sampler: MetricsSampler = request.app.state.sampler
    return sampler


SamplerDep = Annotated[MetricsSampler, Depends(get_sampler)]


@router.get("/metrics", response_model=MetricsOut)
async def metrics_series(
    role: AnyRole,
    sampler: SamplerDep,
    since: float | None = Query(
        None, ge=0, le=2**53, description="Only the samples taken strictly after this unix time."
    ),
) -> dict[str, object]:
    return {"interval_s": sampler.interval, "samples": [s.as_dict() for s in sampler.since(since)]}


@prometheus_router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format."},
        401: {"description": "No valid key (and VS_METRICS_PUBLIC is not true)."},
    },
)
async def prometheus_metrics(request: Request) -> Response:
    # Async on purpose: the collector reads counters the event loop writes, so it runs on
    # the loop rather than in a worker thread.
    settings: Settings = request.app.state.settings
    if settings.metrics_public:
        keyring: KeyRing = request.app.state.keyring
        role = keyring.role_for(presented_key(request))  # public: a wrong key is no failure
    else:
        role = _require_any_key(request).role
    # Key names (who may act) only for an Admin; others get stand-ins.
    body = render(request.app.state.registry, key_names=role is Role.ADMIN)
    return Response(body, media_type=CONTENT_TYPE)


def _require_any_key(request: Request) -> Identity:
    """Scrapers send a key as X-API-Key or as ``Authorization: Bearer <key>``: the same door
    (and the same failure throttle) as every other route."""
    try:
        return authenticate(request, key=presented_key(request))
    except AuthRefused as exc:
        raise api_error(exc) from None
