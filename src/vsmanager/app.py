"""The ASGI app: routes, error shape, and a lifespan that owns the supervisor."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import structlog
from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.routing import NoMatchFound

from vsmanager import __version__
from vsmanager.access.audit import AuditLog
from vsmanager.access.auth import KeyRing
from vsmanager.access.gatekeeper import Gatekeeper
from vsmanager.access.keywatch import KeysFileWatcher
from vsmanager.automation.actions import ActionRegistry
from vsmanager.automation.wiring import start_automation, start_notifications
from vsmanager.backups.metrics import BackupCollector
from vsmanager.backups.service import BackupService
from vsmanager.config.settings import Settings
from vsmanager.console.buffer import ConsoleBuffer
from vsmanager.console.feed import ConsoleFeed
from vsmanager.edge.guards import WebMount, install_guards
from vsmanager.game.supervisor import Supervisor
from vsmanager.ops.logs import set_known_digests
from vsmanager.ops.metrics import MetricsSampler
from vsmanager.ops.prometheus import build_registry
from vsmanager.routes import (
    auth,
    backups,
    console,
    health,
    metrics,
    notifications,
    page,
    schedules,
    server,
)
from vsmanager.routes.errors import install_error_handlers
from vsmanager.stream.server_send import KeepServerSend
from vsmanager.stream.watchdog import SendWatchdog

log = structlog.get_logger("vsmanager.app")

API_PREFIX = "/api/v1alpha1"
# What the web page asks every few seconds: logged at debug level, not info.
PAGE_POLLS = tuple(f"{API_PREFIX}{path}" for path in ("/server/status", "/server/metrics", "/console/runs"))
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
        app.state.backups = backup_service = BackupService(settings, supervisor, audit)
        backup_service.recover()  # a job a killed vsmanager left: put right before the game starts
        app.state.registry.register(BackupCollector(backup_service))
        sampler.start()
        await prepare_first_requests(app)
        async with contextlib.AsyncExitStack() as stack, contextlib.AsyncExitStack() as automation:
            # Also without a keys file: it answers SIGHUP (`systemctl reload`), from before
            # the game starts.
            await stack.enter_async_context(KeysFileWatcher(gatekeeper, settings.keys_file))
            notifier = await stack.enter_async_context(
                start_notifications(app, settings, supervisor, feed, keyring))
            if settings.server_autostart:  # once notifications listen: its start is told
                await supervisor.autostart()
            backup_service.outcome_listeners.append(notifier.emit)
            app.state.schedule_actions = _schedule_actions(backup_service)
            app.state.scheduler = await automation.enter_async_context(
                start_automation(app, settings, supervisor, feed, audit, notifier))
            app.state.ready = True
            try:
                yield
            finally:
                app.state.ready = False
                notifier.emit("vsmanager_stopping")
                await automation.aclose()  # no schedule acts while the game is stopped
                await backup_service.close()
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
    api.include_router(backups.router)
    api.include_router(schedules.router)
    api.include_router(notifications.router)
    app.include_router(api)
    app.include_router(metrics.prometheus_router)
    app.include_router(health.router)
    app.include_router(page.router)
    _mount_web_console(app)
    return app



async def prepare_first_requests(app: FastAPI) -> None:
    """Do while starting what would otherwise hold the event loop at a route's first request,
    in the middle of a game: FastAPI builds an included router's routes (each parameter's
    schema) when a request first reaches them, 19 ms for all of ours on an idle machine, and
    AnyIO imports its backend at the first endpoint run in a thread. perf and py-spy showed
    both in the console's worst lines at the first backup. Looking up a name no route has
    walks, and so builds, every route; a no-op in the thread pool loads the rest."""
    with contextlib.suppress(NoMatchFound):
        app.url_path_for("vsmanager: no such route")
    await run_in_threadpool(lambda: None)


def _schedule_actions(backup_service: BackupService) -> ActionRegistry:
    """The actions schedules take besides the built-in ones: ``backup``."""
    actions = ActionRegistry()

    async def backup(schedule: object, by: str) -> str | None:
        made = await backup_service.make_backup(made_by=by)
        return f"backup {made['id']}"

    actions.add("backup", backup)
    return actions


def _mount_web_console(app: FastAPI) -> None:
    if (STATIC_DIR / "index.html").is_file():
        app.router.routes.append(
            WebMount("/", StaticFiles(directory=STATIC_DIR, html=True), name="web", api_prefix=API_PREFIX)
        )
        return

    @app.get("/", include_in_schema=False)
    async def assets_missing() -> HTMLResponse:
        return HTMLResponse(_ASSETS_MISSING)
