"""``vsmanager schedule list|show|add|remove|pause|resume|run|skip|now`` and ``vsmanager
notify list|test``: the schedules and notification targets of a running vsmanager."""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import quote

from vsmanager.remote.api import ApiClient
from vsmanager.remote.endpoint import Endpoint
from vsmanager.remote.exits import ExitCode
from vsmanager.remote.options import add_connection_arguments, print_json
from vsmanager.remote.terminal import escape_text

ONE_NAME = ("show", "remove", "pause", "resume", "run", "skip", "now")


def add_schedule_arguments(parser: argparse.ArgumentParser) -> None:
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    listing = verbs.add_parser("list", help="every schedule: when, action, next due, last outcome")
    listing.add_argument("--json", action="store_true", help="print the answer as JSON")
    add_connection_arguments(listing)
    helps = {"show": "one schedule: its definition, next five due times and runs",
             "remove": "remove a schedule from the file", "pause": "pause a schedule (it stays in the file)",
             "resume": "resume a paused schedule", "run": "act now, without warnings, whoever is online",
             "skip": "skip the pending countdown (this run does not happen)",
             "now": "end the pending countdown: act now"}
    for verb in ONE_NAME:
        sub = verbs.add_parser(verb, help=helps[verb])
        sub.add_argument("name")
        sub.add_argument("--json", action="store_true", help="print the answer as JSON")
        add_connection_arguments(sub)
    add = verbs.add_parser("add", help="add a schedule (or replace one with --replace)",
                           description="Add a schedule, e.g. vsmanager schedule add nightly --cron "
                           "'0 4 * * *' --timezone Europe/Berlin --action restart --warn 15m,5m,1m "
                           "--when-players wait --max-wait 1h")
    add.add_argument("name")
    when = add.add_mutually_exclusive_group(required=True)
    when.add_argument("--cron", help='five fields, e.g. "0 4 * * *"')
    when.add_argument("--every", help='an interval, e.g. 6h, 30m, 90s')
    add.add_argument("--timezone", help="with --cron: a zone such as Europe/Berlin (default: the host's)")
    add.add_argument("--action", required=True, choices=("restart", "stop", "start", "command", "backup"))
    add.add_argument("--command", dest="commands", action="append", metavar="COMMAND",
                     help="with --action command: a console command (repeat for more, sent in order)")
    add.add_argument("--warn", help="with restart or stop: warnings before it, e.g. 15m,5m,1m")
    add.add_argument("--announce", help='the warning\'s command, e.g. "/announce Server restarts in {in}"')
    add.add_argument("--when-players", choices=("ignore", "wait", "skip"))
    add.add_argument("--max-wait", help="with --when-players wait: the longest wait, e.g. 1h")
    add.add_argument("--paused", action="store_true", help="add it paused")
    add.add_argument("--replace", action="store_true", help="replace the schedule of that name")
    add.add_argument("--json", action="store_true", help="print the answer as JSON")
    add_connection_arguments(add)


def add_notify_arguments(parser: argparse.ArgumentParser) -> None:
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    listing = verbs.add_parser("list", help="every target (masked) with its last delivery")
    listing.add_argument("--json", action="store_true", help="print the answer as JSON")
    add_connection_arguments(listing)
    test = verbs.add_parser("test", help="send a test message to a target")
    test.add_argument("name")
    add_connection_arguments(test)


async def run_schedule(args: argparse.Namespace, endpoint: Endpoint) -> int:
    verb: str = args.verb
    async with ApiClient(endpoint) as api:
        if verb == "list":
            answer = await api.call("GET", "/schedules")
            print_json(answer) if args.json else _print_list(answer)
            return ExitCode.OK
        path = f"/schedules/{quote(args.name, safe='')}"
        if verb == "add":
            body = _definition(args)
            asked = api.call("PUT", path, body) if args.replace else api.call("POST", "/schedules", body)
            answer = await asked
        elif verb == "show":
            answer = await api.call("GET", path)
        elif verb == "remove":
            answer = await api.call("DELETE", path)
        else:
            answer = await api.call("POST", f"{path}/{verb}")
    if args.json:
        print_json(answer)
    elif verb in ("show", "add", "pause", "resume"):
        _print_one(answer)
    else:
        print({"remove": f"schedule {args.name} removed",
               "run": f"schedule {args.name}: running now",
               "skip": f"schedule {args.name}: countdown skipped",
               "now": f"schedule {args.name}: acting now"}[verb])
    return ExitCode.OK


async def run_notify(args: argparse.Namespace, endpoint: Endpoint) -> int:
    async with ApiClient(endpoint) as api:
        if args.verb == "test":
            await api.call("POST", f"/notifications/{quote(args.name, safe='')}/test")
            print(f"test message queued for {args.name}; `vsmanager notify list` shows how it went")
            return ExitCode.OK
        answer = await api.call("GET", "/notifications")
    if args.json:
        print_json(answer)
        return ExitCode.OK
    targets = answer.get("targets", [])
    if not targets:
        print("no notification targets" + ("" if answer.get("file") else " (VS_NOTIFICATIONS_FILE is not set)"))
    for target in targets:
        if "error" in target:
            print(f"{_plain(target['name'])}  error: {_plain(target['error']['field'])}: "
                  f"{_plain(target['error']['why'])}")
            continue
        last = target.get("last")
        how = "never sent" if last is None else (
            f"{last['event']} {'delivered' if last['delivered'] else 'failed: ' + _plain(last['error'] or '')} "
            f"at {last['at']}")
        print(f"{_plain(target['name'])}  {target['kind']}  {_plain(target['url'])}  "
              f"events: {', '.join(target['events'])}  last: {how}")
    return ExitCode.OK


def _definition(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"name": args.name, "action": args.action}
    for key in ("cron", "every", "timezone", "announce", "when_players", "max_wait"):
        value = getattr(args, key)
        if value is not None:
            body[key] = value
    if args.commands:
        body["commands"] = args.commands
    if args.warn:
        body["warn"] = [part.strip() for part in args.warn.split(",") if part.strip()]
    if args.paused:
        body["paused"] = True
    return body


def _print_list(answer: dict[str, Any]) -> None:
    schedules = answer.get("schedules", [])
    if answer.get("file_error"):
        print(f"schedules file: {_plain(answer['file_error'])}")
    if not schedules:
        print("no schedules" + ("" if answer.get("file") else " (VS_SCHEDULES_FILE is not set)"))
    rows = [("NAME", "WHEN", "ACTION", "NEXT", "LAST")]
    for item in schedules:
        if "error" in item:
            error = item["error"]
            rows.append((item["name"], "-", "-", "-", f"error: {error['field']}: {error['why']}"))
            continue
        when = f"cron {item['cron']}" if "cron" in item else f"every {item['every']}"
        if item.get("timezone"):
            when += f" {item['timezone']}"
        runs = [run for run in item.get("runs", []) if run.get("outcome")]
        nxt = "paused" if item.get("paused") else (item["next"][0] if item.get("next") else "-")
        rows.append((item["name"], when, item["action"], nxt, runs[-1]["outcome"] if runs else "-"))
    widths = [max(len(_plain(row[i])) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(_plain(cell).ljust(widths[i]) if i < 4 else _plain(cell) for i, cell in enumerate(row)))


def _print_one(item: dict[str, Any]) -> None:
    runs = item.get("runs", [])
    definition = {k: v for k, v in item.items() if k not in ("runs", "next", "countdown")}
    for key, value in definition.items():
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        print(f"{key}: {_plain(str(shown))}")
    if item.get("countdown"):
        print(f"countdown: {item['countdown']['action']} at {item['countdown']['at']}")
    for due in item.get("next", []):
        print(f"next: {due}")
    for run in runs[-10:]:
        detail = f" ({run['detail']})" if run.get("detail") else ""
        print(f"run: {run['start']}  {_plain(str(run.get('outcome') or 'running'))}{_plain(detail)}")


def _plain(text: str) -> str:
    return escape_text(str(text), keep_colours=False)
