"""The ASGI app: routes, error shape, and a lifespan that owns the supervisor."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import structlog
from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from vsmanager import __version__
from vsmanager.access.audit import AuditLog
from vsmanager.access.auth import KeyRing
from vsmanager.access.gatekeeper import Gatekeeper
from vsmanager.access.keywatch import KeysFileWatcher
from vsmanager.config.settings import Settings
from vsmanager.console.buffer import ConsoleBuffer
from vsmanager.console.feed import ConsoleFeed
from vsmanager.edge.guards import WebMount, install_guards
from vsmanager.game.supervisor import Supervisor
from vsmanager.ops.logs import set_known_digests
from vsmanager.ops.metrics import MetricsSampler
from vsmanager.ops.prometheus import build_registry
from vsmanager.routes import auth, console, health, metrics, page, server
from vsmanager.routes.errors import install_error_handlers
from vsmanager.stream.server_send import KeepServerSend
from vsmanager.stream.watchdog import SendWatchdog

log = structlog.get_logger("vsmanager.app")

API_PREFIX = "/api/v1alpha1"
STATIC_DIR = Path(__file__).parent / "static"

_ASSETS_MISSING = """<!doctype html><html><head><meta charset="utf-8"><title>vsmanager</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>vsmanager</h1><p>The API is running, but the web console has not been built.</p>
<p>Build it from the repository with <code>scripts/install</code> (it needs node and npm),
then restart vsmanager and reload this page.
The API is documented at <a href="/docs">/docs</a>.</p></body></html>"""


def create_app(settings: Settings) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        buffer = ConsoleBuffer(settings.console_buffer_lines, settings.console_buffer_bytes)
        feed = ConsoleFeed(buffer)
        supervisor = Supervisor(settings, feed)
        app.state.feed = feed
        app.state.supervisor = supervisor
        app.state.watchdog = watchdog = SendWatchdog(settings.ws_send_timeout)
        app.state.sampler = sampler = MetricsSampler(settings, supervisor, feed)
        app.state.registry = build_registry(supervisor, feed, sampler)
        sampler.start()
        if settings.server_autostart:
            await supervisor.autostart()
        app.state.ready = True
        async with contextlib.AsyncExitStack() as stack:
            if settings.keys_file is not None:
                await stack.enter_async_context(KeysFileWatcher(gatekeeper, settings.keys_file))
            try:
                yield
            finally:
                app.state.ready = False
                await supervisor.shutdown()
                await watchdog.stop()
                await sampler.stop()

    app = FastAPI(
        title="vsmanager",
        version=__version__,
        summary="Supervise a Vintage Story dedicated server and stream its console.",
        lifespan=lifespan,
        docs_url=None,  # served from local files by install_guards
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.keyring = keyring = KeyRing(settings)
    # Keys known only by their hash are redacted from the log and the audit file too.
    set_known_digests(keyring.digests)
    audit = AuditLog(settings.audit_log, settings.secret_values(), digests=keyring.digests)
    app.state.gatekeeper = gatekeeper = Gatekeeper(settings, keyring, audit)
    app.state.ready = False
    install_error_handlers(app)
    app.add_middleware(KeepServerSend)
    install_guards(app, settings, API_PREFIX)

    api = APIRouter(prefix=API_PREFIX)
    api.include_router(server.router)
    api.include_router(console.router)
    api.include_router(auth.router)
    api.include_router(metrics.router)
    app.include_router(api)
    app.include_router(metrics.prometheus_router)
    app.include_router(health.router)
    app.include_router(page.router)
    _mount_web_console(app)
    return app


def _mount_web_console(app: FastAPI) -> None:
    if (STATIC_DIR / "index.html").is_file():
        app.router.routes.append(
            WebMount("/", StaticFiles(directory=STATIC_DIR, html=True), name="web", api_prefix=API_PREFIX)
        )
        return

    @app.get("/", include_in_schema=False)
    async def assets_missing() -> HTMLResponse:
        return HTMLResponse(_ASSETS_MISSING)
