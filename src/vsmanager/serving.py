"""Run the app under uvicorn, with a shutdown that stops the game before closing sockets."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import NoReturn

import structlog
import uvicorn
from fastapi import FastAPI
from uvicorn.server import HANDLED_SIGNALS

from vsmanager.app import PAGE_POLLS, create_app
from vsmanager.config.settings import Settings
from vsmanager.console.feed import ConsoleFeed
from vsmanager.edge.guards import trusted_proxies
from vsmanager.edge.httpprotocol import protocol_class
from vsmanager.edge.ws_protocol import ConsoleWebSocketProtocol
from vsmanager.game.confinement import confinement_problems
from vsmanager.game.dumpable import make_non_dumpable
from vsmanager.game.exec_shim import abi_version
from vsmanager.game.supervisor import Supervisor
from vsmanager.ops.accesslog import AccessLogFilter, RequestLogBudget
from vsmanager.ops.logs import configure_logging

log = structlog.get_logger("vsmanager.serving")

# Seconds uvicorn waits for open requests and sockets once the game is down.
GRACEFUL_SHUTDOWN_S = 5
LISTEN_BACKLOG = 2048
EXIT_CANNOT_LISTEN = 1
EXIT_INTERRUPTED = 130  # a second Ctrl+C, as a shell reports death by SIGINT


# Seconds watchers get, once the game is down, to receive the end before their sockets are
# closed anyway (a stalled one is closed by the send watchdog before that, at the default).
END_DELIVERY_S = 5.0
_END_POLL_S = 0.02


class ConsoleServer(uvicorn.Server):
    """uvicorn closes every connection first, then runs the lifespan's shutdown. Here the
    game is stopped first, then every watcher is sent the rest of the console (the game's
    last lines, the exit line, the final status) and closes with 1012 itself; uvicorn closes
    what is left after that."""

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self.app = app

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        # uvicorn says nothing about sockets it is handed: say where the console is.
        if self.started and sockets:
            log.info(listening_message(sockets[0]))

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        supervisor: Supervisor | None = getattr(self.app.state, "supervisor", None)
        self.app.state.ready = False
        if supervisor is not None and not self.force_exit:
            if supervisor.pid is not None:
                log.info("stopping_game", state=supervisor.state.value,
                         hint="Ctrl+C again exits at once")
            supervisor.feed.publish("system", "vsmanager is shutting down")
            await supervisor.shutdown()
            await self._deliver_the_end(supervisor.feed)
        await super().shutdown(sockets)

    async def _deliver_the_end(self, feed: ConsoleFeed) -> None:
        feed.end()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + END_DELIVERY_S
        # A few polls, once per vsmanager's life: cheaper than an event on the hot counter.
        while feed.readers and loop.time() < deadline and not self.force_exit:  # noqa: ASYNC110
            await asyncio.sleep(_END_POLL_S)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self._exit_at_once()
        super().handle_exit(sig, frame)

    def _exit_at_once(self) -> NoReturn:
        """A second Ctrl+C: leave now, without unwinding a shutdown half done (a traceback
        there helps nobody). The game gets SIGTERM now; its supervisor of last resort, which
        outlives us holding the instance lock, sends SIGKILL after the kill timeout."""
        supervisor: Supervisor | None = getattr(self.app.state, "supervisor", None)
        game = supervisor.pid if supervisor is not None else None
        if game is not None:
            with contextlib.suppress(OSError):
                os.killpg(game, signal.SIGTERM)
        log.warning("exiting_at_once", game_pid=game,
                    game="sent SIGTERM; ended by its supervisor of last resort"
                    if game is not None else "not running")
        logging.shutdown()
        os._exit(EXIT_INTERRUPTED)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn's own version raises the caught signal again once it has shut down, so the
        # process dies of it (status 143 for SIGTERM, 130 for SIGINT). vsmanager stopping
        # cleanly when asked to is a success: it exits 0, as `systemctl stop` expects.
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in HANDLED_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def serve(settings: Settings, host: str, port: int, log_level: str | None = None) -> int:
    """Serve until SIGINT/SIGTERM; 0 after a clean run, 1 if it never started (port taken)."""
    access = AccessLogFilter(RequestLogBudget(settings.log_requests_per_client), PAGE_POLLS)
    log_config = configure_logging(log_level or settings.log_level, settings.secret_values(),
                                   settings.log_format, access=access,
                                   max_path_chars=settings.log_max_path_chars)
    if not make_non_dumpable():
        log.warning("non_dumpable_unavailable", platform=sys.platform)
    for event, reason in confinement_problems(settings, abi_version()):
        log.warning(event, reason=reason)
    # A hang-up (`systemctl reload`) never ends vsmanager: before the keys watcher takes it
    # over (app.py, at start-up) and after, it is only logged. A handler, not SIG_IGN, which
    # the game would inherit.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGHUP, _hangup_too_early)
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=log_config,
        ws=ConsoleWebSocketProtocol,
        ws_max_size=settings.ws_max_message_bytes,
        ws_per_message_deflate=settings.ws_compression,
        ws_ping_interval=settings.ws_ping_interval,
        ws_ping_timeout=settings.ws_ping_interval,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        server_header=False,
        # Transport bounds (docs/security.md); client addresses are resolved by the app.
        http=protocol_class(settings, trusted_proxies(settings), host),
        proxy_headers=False,
    )
    # Bound here, before the lifespan starts the game: a port in use (another vsmanager,
    # perhaps with its game running) is refused before any game is started.
    try:
        sock = listening_socket(host, port)
    except OSError as exc:
        log.error("cannot_listen", host=host, port=port, reason=exc.strerror or str(exc),
                  hint="is another vsmanager running? the game was not started")
        return EXIT_CANNOT_LISTEN
    server = ConsoleServer(config, app)
    with sock:
        server.run(sockets=[sock])
    return 0 if server.started else EXIT_CANNOT_LISTEN


def _hangup_too_early(signum: int, frame: object) -> None:
    log.info("keys_unchanged", why="SIGHUP", reason="vsmanager is starting or stopping")


def listening_message(sock: socket.socket) -> str:
    """``vsmanager listening on http://HOST:PORT (...)``, IPv6 addresses in brackets."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"vsmanager listening on http://{shown}:{port} (web console, API docs at /docs)"


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` and listening (so that nobody else can bind it)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        # Rebinding at once after a restart (old connections in TIME_WAIT) is fine; a
        # listening socket of another process still refuses us.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(LISTEN_BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock
