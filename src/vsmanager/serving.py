"""Run the app under uvicorn, with a shutdown that stops the game before closing sockets."""

from __future__ import annotations

import socket

import structlog
import uvicorn
from fastapi import FastAPI

from vsmanager.app import create_app
from vsmanager.logs import configure_logging
from vsmanager.settings import Settings
from vsmanager.supervisor import Supervisor

log = structlog.get_logger("vsmanager.serving")

# Seconds uvicorn waits for open requests and sockets once the game is down.
GRACEFUL_SHUTDOWN_S = 5
LISTEN_BACKLOG = 2048
EXIT_CANNOT_LISTEN = 1


class ConsoleServer(uvicorn.Server):
    """uvicorn closes every connection first, then runs the lifespan's shutdown. Stopping the
    game first instead lets every watcher see its last lines ("Stopped the server!") before
    the socket closes with 1012."""

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self.app = app

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        supervisor: Supervisor | None = getattr(self.app.state, "supervisor", None)
        self.app.state.ready = False
        if supervisor is not None and not self.force_exit:
            supervisor.feed.publish("system", "vsmanager is shutting down")
            await supervisor.shutdown()
        await super().shutdown(sockets)


def serve(settings: Settings, host: str, port: int, log_level: str = "info") -> int:
    """Serve until SIGINT/SIGTERM; 0 after a clean run, 1 if it never started (port taken)."""
    log_config = configure_logging(log_level, settings.secret_values())
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=log_config,
        ws_max_size=settings.ws_max_message_bytes,
        ws_per_message_deflate=settings.ws_compression,
        ws_ping_interval=settings.ws_ping_interval,
        ws_ping_timeout=settings.ws_ping_interval,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        server_header=False,
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
