"""``vsmanager backup create|list|verify|download|delete|restore``: backups from a terminal,
with a progress bar when stderr is one."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
from pathlib import Path
from typing import Any

from vsmanager.remote.api import ApiClient, check
from vsmanager.remote.endpoint import Endpoint
from vsmanager.remote.exits import ExitCode, fail

POLL_S = 0.25
BAR = 30


def add_arguments(parser: argparse.ArgumentParser) -> None:
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="ACTION")
    verbs.add_parser("create", help="make a backup now and wait until it is verified")
    verbs.add_parser("list", help="list the backups, newest first")
    for verb, text in (("verify", "read a backup back and check it"), ("delete", "delete a backup")):
        verbs.add_parser(verb, help=text).add_argument("id")
    download = verbs.add_parser("download", help="download a backup, checking its SHA-256")
    download.add_argument("id")
    download.add_argument("-o", "--output", type=Path, default=None, help="file to write (default: its name)")
    restore = verbs.add_parser("restore", help="restore a backup (stops and starts the game as needed)")
    restore.add_argument("id")
    restore.add_argument("--confirm", default=None, metavar="WORLD",
                         help="the backup's world name, as listed (asked for on a terminal)")


async def run(args: argparse.Namespace, endpoint: Endpoint) -> int:
    async with ApiClient(endpoint) as client:
        verb = args.verb
        if verb == "list":
            for b in (await client.call("GET", "/backups"))["backups"]:
                mark = "verified" if b["verified"] else "NOT VERIFIED"
                print(f"{b['id']}  {b['time']}  {b['size']:>12} B  {mark}  {b['made_by']}")
            return 0
        if verb == "create":
            id = (await client.call("POST", "/backups"))["id"]
            found = await _follow(client, id, None)
            if found["state"] != "done":
                return fail(ExitCode.FAILED, f"backup {id}: {found['error']}")
            print(f"{id}: {found['size']} bytes, verified")
            return 0
        if verb == "verify":
            found = await client.call("POST", f"/backups/{args.id}/verify")
            verdict = "verified" if found["verified"] else f"NOT verified: {found['verify_error']}"
            print(f"{args.id}: {verdict}")
            return 0 if found["verified"] else int(ExitCode.FAILED)
        if verb == "delete":
            await client.call("DELETE", f"/backups/{args.id}")
            return 0
        if verb == "download":
            return await _download(client, args.id, args.output)
        return await _restore(client, args.id, args.confirm)


async def _restore(client: ApiClient, id: str, confirm: str | None) -> int:
    if confirm is None and sys.stdin.isatty():
        question = f"Restoring {id} replaces the world. Type its world's name to go on: "
        confirm = await asyncio.to_thread(input, question)
    await client.call("POST", f"/backups/{id}/restore", json={"confirm": confirm})
    found = await _follow(client, id, "restore")
    restore = found["restore"]
    if restore["state"] != "done":
        return fail(ExitCode.FAILED, f"restore of {id}: {restore['error']}")
    print(f"{id}: restored")
    return 0


async def _follow(client: ApiClient, id: str, part: str | None) -> dict[str, Any]:
    tty = sys.stderr.isatty()
    while True:
        found = await client.call("GET", f"/backups/{id}")
        state = found[part] if part else found
        if tty:
            _bar(state.get("step", ""), found.get("bytes_done", 0), found.get("bytes_total", 0))
        if state["state"] != "running":
            if tty:
                print(file=sys.stderr)
            return found
        await asyncio.sleep(POLL_S)


async def _download(client: ApiClient, id: str, output: Path | None) -> int:
    async with client.stream(f"/backups/{id}/download") as response:
        if not response.is_success:
            await response.aread()
            check(response, client.endpoint)
        total = int(response.headers.get("content-length", 0))
        target = output or Path(response.headers.get("content-disposition", "").split('"')[1])
        hasher, done = hashlib.sha256(), 0
        # The client's loop serves this download alone: a blocking write waits for nobody.
        with open(target, "wb") as out:  # noqa: ASYNC230
            async for chunk in response.aiter_bytes():
                hasher.update(chunk)
                out.write(chunk)
                done += len(chunk)
                if sys.stderr.isatty():
                    _bar("downloading", done, total)
        if sys.stderr.isatty():
            print(file=sys.stderr)
    if hasher.hexdigest() != response.headers.get("x-content-sha256"):
        return fail(ExitCode.FAILED, f"{target}: SHA-256 differs from the server's: do not trust it")
    print(f"{target}: {done} bytes, SHA-256 {hasher.hexdigest()}")
    return 0


def _bar(step: str, done: int, total: int) -> None:
    share = done / total if total else 0.0
    filled = int(share * BAR)
    sys.stderr.write(f"\r[{'#' * filled}{' ' * (BAR - filled)}] {share:4.0%} {step:<24}")
    sys.stderr.flush()
