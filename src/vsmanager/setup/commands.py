"""The commands that set vsmanager up: ``config example|check``, ``init``, ``systemd-unit``."""

from __future__ import annotations

import argparse
import getpass
import os
import shutil
import stat
import sys
from pathlib import Path

from vsmanager.config.file import CONFIG_VARIABLE, ConfigFile
from vsmanager.config.settings import (
    Settings,
    SettingsError,
    is_from_environment,
    load_settings,
    read_config,
    unknown_variables,
    variable_name,
)
from vsmanager.game.confinement import confinement_problems, confinement_summary
from vsmanager.game.data_folder import data_path
from vsmanager.game.exec_shim import abi_version
from vsmanager.setup import config_text, first_run, init_prompt, systemd_unit

EXIT_NOT_READY = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    config = commands.add_parser(
        "config", help="print a config file template, or check one",
        description="The config file (TOML) holds every setting; VS_* variables override it.",
    )
    actions = config.add_subparsers(title="actions", metavar="ACTION", required=True)
    example = actions.add_parser("example", help="print a commented template of every setting",
                                 description="Print every setting with its default, commented out.")
    example.set_defaults(handler=run_config_example)
    check = actions.add_parser(
        "check", help="validate and print the effective configuration (secrets masked)",
        description="Load the config file and the VS_* variables as `serve` does, and print the "
        "settings in force with where each came from. Exit 0 when serve would start, 1 when "
        "something serve needs is missing, 2 when a setting is invalid.",
    )
    add_config_argument(check)
    check.set_defaults(handler=run_config_check)

    init = commands.add_parser(
        "init", help="write a config file and an admin key for a Vintage Story server",
        description="Write DIR/vsmanager.toml for the Vintage Story server in --server-dir and a "
        "new admin key in DIR/admin.key (readable by its owner only), then print the next steps. "
        f"Without DIR or --server-dir it asks for them on a terminal; e.g. {init_prompt.EXAMPLE}",
    )
    init.add_argument("dir", type=Path, nargs="?", metavar="DIR",
                      help="folder for the config and the key (asked for on a terminal)")
    init.add_argument("--server-dir", type=Path, metavar="PATH",
                      help="the folder holding VintagestoryServer.dll (asked for on a terminal)")
    init.add_argument("--data-dir", type=Path, metavar="PATH",
                      help="the game's --dataPath: worlds, mods, logs (default: beside the server "
                      "folder, named <server folder>-data)")
    init.add_argument("--force", action="store_true", help="replace an existing config and key")
    init.set_defaults(handler=run_init)

    unit = commands.add_parser(
        "systemd-unit", help="print a systemd unit that runs vsmanager serve",
        description="Print a systemd service for `vsmanager serve --config PATH`, with timeouts "
        "taken from the configuration and hardening that leaves the game's folders writable.",
    )
    add_config_argument(unit)
    unit.add_argument("--user", metavar="NAME", help="the user the service runs as "
                      "(default: you, unless you are root)")
    unit.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    unit.add_argument("--port", type=int, default=DEFAULT_PORT,
                      help=f"port to listen on (default {DEFAULT_PORT})")
    unit.set_defaults(handler=run_systemd_unit)


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, metavar="PATH",
                        help=f"the TOML config file (default ${CONFIG_VARIABLE}, else none)")


def warn_unknown_variables() -> None:
    for warning in unknown_variables():
        print(f"vsmanager: warning: {warning}", file=sys.stderr)


def run_config_example(args: argparse.Namespace) -> int:
    sys.stdout.write(config_text.example(Settings.model_fields))
    return 0


def run_config_check(args: argparse.Namespace) -> int:
    warn_unknown_variables()
    config = read_config(args.config)
    settings = load_settings(config=config.path if config else None)
    values = {name: getattr(settings, name) for name in Settings.model_fields}
    origins = {name: _origin(name, config) for name in Settings.model_fields}
    for role in ("admin", "monitor"):
        if values.get(f"api_key_{role}_file") is not None:
            origins[f"api_key_{role}"] = f"read from api_key_{role}_file"
    if config is not None:
        sources = f"{config.path}, then VS_* variables"
    else:
        sources = f"VS_* variables only: no --config and no ${CONFIG_VARIABLE}"
    sys.stdout.write(config_text.effective(values, origins, sources))
    for warning in _key_file_warnings(settings):
        print(f"vsmanager: warning: {warning}", file=sys.stderr)
    abi = abi_version()
    problems = confinement_problems(settings, abi)
    for event, reason in problems:
        print(f"vsmanager: warning: {event}: {reason}", file=sys.stderr)
    if not problems:
        print(f"vsmanager: {confinement_summary(settings, abi)}", file=sys.stderr)
    try:
        settings.require_serving()
    except SettingsError as exc:
        print(f"vsmanager: valid, but serve would refuse to start:\n{exc}", file=sys.stderr)
        return EXIT_NOT_READY
    print("vsmanager: the configuration is valid", file=sys.stderr)
    return 0


def run_init(args: argparse.Namespace) -> int:
    folder, server_dir, data_dir = args.dir, args.server_dir, args.data_dir
    if folder is None or server_dir is None:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            missing = [what for what, value in (("DIR", folder), ("--server-dir", server_dir))
                       if value is None]
            print(f"vsmanager init: {init_prompt.missing_arguments_message(missing)}",
                  file=sys.stderr)
            return EXIT_USAGE
        try:
            answers = init_prompt.ask(folder, server_dir, data_dir)
        except init_prompt.InitCancelled:
            print("vsmanager init: cancelled; nothing written", file=sys.stderr)
            return EXIT_INTERRUPTED
        folder, server_dir, data_dir = answers.folder, answers.server_dir, answers.data_dir
    try:
        run = first_run.initialize(folder, server_dir, data_dir, force=args.force)
    except first_run.InitError as exc:
        print(f"vsmanager init: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for warning in run.warnings:
        print(f"vsmanager init: warning: {warning}", file=sys.stderr)
    print(f"Wrote {run.config}\n"
          f"  and {run.key_file} (readable by its owner only), which holds the admin key:\n\n"
          f"    {run.admin_key}\n\n"
          "It is shown this once; read it again from that file when you need it.\n")
    print(first_run.next_steps(run))
    return 0


def run_systemd_unit(args: argparse.Namespace) -> int:
    config = read_config(args.config)
    if config is None:
        print("vsmanager systemd-unit: name the config file the service will read: --config PATH "
              "(`vsmanager init` writes one)", file=sys.stderr)
        return EXIT_USAGE
    settings = load_settings(config=config.path)
    for name in Settings.model_fields:
        if is_from_environment(name):
            print(f"vsmanager: warning: {variable_name(name)} is set here, but the service will "
                  "not see it: put it in the config file", file=sys.stderr)
    user = args.user or (None if os.geteuid() == 0 else getpass.getuser())
    if user is None:
        print("vsmanager: warning: the unit runs vsmanager and the game as root: pass --user NAME",
              file=sys.stderr)
    workdir = settings.server_workdir.absolute() if settings.server_workdir else None
    if workdir is None:
        print("vsmanager: warning: server_workdir is not set: the service's working directory is / "
              "and read-only; set it to the game's folder", file=sys.stderr)
    writable = [path for path in (workdir, data_path(settings.server_argv)) if path]
    audit_log = getattr(settings, "audit_log", None)  # the keys' audit log, where there is one
    if isinstance(audit_log, Path):
        writable.append(audit_log.absolute().parent)
    for path in writable:
        if not path.is_dir():
            print(f"vsmanager: warning: {path} does not exist: create it before starting the "
                  "service (the unit makes only existing folders writable)", file=sys.stderr)
    serve_args = ["--host", args.host, "--port", str(args.port)]
    sys.stdout.write(systemd_unit.render(systemd_unit.UnitFacts(
        executable=_installed_executable(),
        runtime=(Path(sys.executable).resolve(),),
        config=config.path.absolute(),
        stop_timeout_s=settings.server_stop_timeout,
        kill_timeout_s=settings.server_kill_timeout,
        writable=writable,
        workdir=workdir,
        user=user,
        serve_args=serve_args,
    )))
    return 0


def _origin(name: str, config: ConfigFile | None) -> str:
    if is_from_environment(name):
        return f"from {variable_name(name)}"
    if config is not None and name in config.values:
        return f"from {config.spelling[name]} in {config.path}"
    return "default"


def _key_file_warnings(settings: Settings) -> list[str]:
    warnings = []
    for path in (settings.api_key_admin_file, settings.api_key_monitor_file):
        if path is not None and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            warnings.append(f"{path} can be read by others than its owner: chmod 600 {path}")
    return warnings


def _installed_executable() -> Path:
    """This installation's own ``vsmanager`` script (a venv's or pipx's), as an absolute path."""
    beside = Path(sys.executable).parent / "vsmanager"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside.absolute()
    found = shutil.which("vsmanager")
    return Path(found).absolute() if found else beside.absolute()
