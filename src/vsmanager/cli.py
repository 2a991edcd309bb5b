"""The ``vsmanager`` command: serve, demo, simulate, and the client commands."""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from vsmanager import __version__
from vsmanager.access.keys import KeysFileError, generate_key
from vsmanager.config.settings import Settings, SettingsError, load_settings
from vsmanager.game import simulator
from vsmanager.setup import commands as setup_commands
from vsmanager.setup import demo_state, keys_command, proxy_command

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
EXIT_USAGE = 2
EXIT_PORT_TAKEN = 1  # as serve when it cannot listen
# Commands that run vsmanager itself, on this machine. systemd, the demo and every test start
# `serve`: it need not import the terminal client (httpx, prompt_toolkit), a sixth of its
# start-up.
SERVER_COMMANDS = frozenset({"serve", "demo"})


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(with_client=not argv or argv[0] not in SERVER_COMMANDS)
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except SettingsError as exc:
        print(f"vsmanager: invalid settings:\n{exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeysFileError as exc:
        print(f"vsmanager: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def build_parser(*, with_client: bool = True) -> argparse.ArgumentParser:
    """The whole command line; without the client commands when a server command runs."""
    parser = argparse.ArgumentParser(
        prog="vsmanager",
        description="Supervise a Vintage Story dedicated server and stream its console.",
        epilog="Settings come from a TOML file (--config, or VS_CONFIG) and VS_* environment "
        "variables, which override it: `vsmanager config example` lists them all.",
    )
    parser.add_argument("--version", action="version", version=f"vsmanager {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    serve = commands.add_parser(
        "serve", help="run the API and supervise the configured game server",
        description="Run the API and supervise the game server set by VS_SERVER_COMMAND. "
        "Needs VS_API_KEY_ADMIN (16+ characters) or VS_KEYS_FILE, and VS_SERVER_COMMAND, "
        "from the environment or the config file.",
    )
    _add_listen_arguments(serve)
    setup_commands.add_config_argument(serve)
    serve.set_defaults(handler=run_serve)

    demo = commands.add_parser(
        "demo", help="run with the built-in simulated Vintage Story server",
        description="Run vsmanager with the built-in Vintage Story simulator as the game server, "
        "started at once; prints the URL and the keys it generated (none for VS_API_KEY_ADMIN "
        "or VS_API_KEY_MONITOR when they are set: those are not printed).",
    )
    _add_listen_arguments(demo)
    demo.add_argument("--events-per-second", type=float, default=0.0, metavar="N",
                      help="extra simulated event lines per second (default 0)")
    demo.add_argument("--env", action="store_true",
                      help="print `export VS_URL=... VS_API_KEY=...` for the demo running on "
                      "--port, for the terminal client: eval \"$(vsmanager demo --env)\"")
    demo.set_defaults(handler=run_demo)

    simulate = commands.add_parser("simulate", help=simulator.HELP, description=simulator.DESCRIPTION)
    simulator.add_arguments(simulate)
    simulate.set_defaults(handler=simulator.run)

    keys_command.add_commands(commands)
    setup_commands.add_commands(commands)
    proxy_command.add_commands(commands)
    if with_client:
        from vsmanager import remote

        remote.add_commands(commands)
    return parser


def _add_listen_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port to listen on (default {DEFAULT_PORT})")
    parser.add_argument("--log-level", default=None,
                        choices=["debug", "info", "warning", "error"],
                        help="default VS_LOG_LEVEL, else info")


def run_serve(args: argparse.Namespace) -> int:
    setup_commands.warn_unknown_variables()
    settings = load_settings(config=args.config).require_serving()
    return _run_server(settings, args)


def run_demo(args: argparse.Namespace) -> int:
    setup_commands.warn_unknown_variables()
    base = f"http://{_url_host(args.host)}:{args.port}"
    if args.env:
        return _demo_environment(args.port)
    if demo_state.port_taken(args.host, args.port):
        return _demo_already_running(args.port, base)
    # Players already online and someone coming or going every few seconds: a lively page.
    command = [sys.executable, "-m", "vsmanager", "simulate", "--players", "2", "--event-interval", "4"]
    if args.events_per_second:
        command += ["--events-per-second", str(args.events_per_second)]
    configured = load_settings()
    # Keys that came from the environment (or a config file) are the user's secrets: the
    # demo generates the missing ones and prints only those.
    generated: dict[str, str] = {}
    if configured.api_key_admin is None:
        generated["api_key_admin"] = generate_key()
    if configured.api_key_monitor is None:
        generated["api_key_monitor"] = generate_key()
    # A world to back up and restore at once: the simulator keeps a real SQLite save in a
    # folder of the demo's own, the backups go beside it (unless VS_BACKUP_DIR says where),
    # and both go with the demo.
    with tempfile.TemporaryDirectory(prefix="vsmanager-demo-") as scratch:
        world = Path(scratch)
        command += ["--dataPath", str(world / "data")]
        backups = {} if configured.backup_dir else {"backup_dir": world / "backups"}
        settings = load_settings(
            **generated,
            **backups,
            server_command=shlex.join(command),
            server_autostart=True,
            web_demo=True,
        )
        record = demo_state.DemoRecord(os.getpid(), base, generated.get("api_key_admin"),
                                       generated.get("api_key_monitor"))
        kept = ("in a temporary folder, gone when the demo stops" if backups
                else f"in {settings.backup_dir} (VS_BACKUP_DIR)")
        print(demo_state.banner("vsmanager demo: a simulated Vintage Story server with a live "
                                "console", record) +
              f"\n  backups       {kept}"
              "\nPress Ctrl+C to stop (the simulated server is stopped gracefully).", flush=True)
        with contextlib.suppress(OSError):  # without the note, a second demo just cannot say
            demo_state.write_record(record, args.port)
        try:
            return _run_server(settings, args)
        finally:
            demo_state.remove_record(args.port)


def _demo_environment(port: int) -> int:
    record = demo_state.read_record(port)
    if record is None:
        print(f"vsmanager demo: no demo of yours runs on port {port}: start one with "
              "scripts/demo (or vsmanager demo) first", file=sys.stderr)
        return EXIT_PORT_TAKEN
    print(demo_state.environment(record))
    return 0


def _demo_already_running(port: int, base: str) -> int:
    record = demo_state.read_record(port)
    if record is None:
        print(f"vsmanager demo: {base} is taken by another program (not a demo of yours): "
              f"stop it, or run the demo on another port: vsmanager demo --port {port + 1}",
              file=sys.stderr)
        return EXIT_PORT_TAKEN
    print(demo_state.banner(f"vsmanager demo: already running (pid {record.pid}); use it:",
                            record) +
          f"\nIt stops with Ctrl+C in its own terminal (or kill {record.pid}); "
          f"`vsmanager demo --port {port + 1}` runs a second one.", flush=True)
    return 0


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _run_server(settings: Settings, args: argparse.Namespace) -> int:
    from vsmanager.serving import serve  # the server's imports are not the client's business

    return serve(settings, args.host, args.port, args.log_level)
