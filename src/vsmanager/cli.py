"""The ``vsmanager`` command: serve, demo, simulate, and the client commands."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable

from vsmanager import __version__, remote
from vsmanager.access.keys import KeysFileError, generate_key
from vsmanager.config.settings import Settings, SettingsError, load_settings
from vsmanager.game import simulator
from vsmanager.setup import commands as setup_commands
from vsmanager.setup import keys_command

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
EXIT_USAGE = 2


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
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


def build_parser() -> argparse.ArgumentParser:
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
    demo.set_defaults(handler=run_demo)

    simulate = commands.add_parser(
        "simulate", help="be a simulated Vintage Story server on this terminal",
        description="A stand-in for VintagestoryServer.dll: prints its console, takes its "
        "commands on stdin, saves and exits on /stop or SIGTERM.",
    )
    simulator.add_arguments(simulate)
    simulate.set_defaults(handler=simulator.run)

    keys_command.add_commands(commands)
    setup_commands.add_commands(commands)
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
    settings = load_settings(
        **generated,
        server_command=shlex.join(command),
        server_autostart=True,
        web_demo=True,
    )
    base = f"http://{_url_host(args.host)}:{args.port}"
    admin = generated.get("api_key_admin", "(yours, from VS_API_KEY_ADMIN)")
    monitor = generated.get("api_key_monitor", "(yours, from VS_API_KEY_MONITOR)")
    print(
        "vsmanager demo: a simulated Vintage Story server with a live console\n"
        f"  web console   {base}/\n"
        f"  admin key     {admin}\n"
        f"  monitor key   {monitor}\n"
        f"  API docs      {base}/docs\n"
        f"  terminal      VS_URL={base} VS_API_KEY=<admin key> vsmanager console\n"
        "Press Ctrl+C to stop (the simulated server is stopped gracefully).",
        flush=True,
    )
    return _run_server(settings, args)


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _run_server(settings: Settings, args: argparse.Namespace) -> int:
    from vsmanager.serving import serve  # the server's imports are not the client's business

    return serve(settings, args.host, args.port, args.log_level)
