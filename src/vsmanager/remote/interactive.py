"""``vsmanager console -i``: the live console above a prompt that sends commands."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory
from prompt_toolkit.patch_stdout import patch_stdout

from vsmanager.console.commands import InvalidCommand, validate_command
from vsmanager.remote.api import COMMAND_MAX_CHARS
from vsmanager.remote.endpoint import Endpoint, config_dir
from vsmanager.remote.tail import Printer, Start
from vsmanager.remote.watcher import ConsoleWatcher, Line

HISTORY_FILE_NAME = "history"

# Vintage Story's server commands, with the sub-commands worth completing
# (see ../shared/VINTAGE_STORY.md). Unknown commands can still be typed and sent.
_LIST = {"clients": None, "banned": None, "role": None, "privileges": None}
_TIME = {"set": None, "speed": None, "stop": None, "resume": None, "calendarspeedmul": None}
_WHITELIST = {"add": None, "remove": None, "on": None, "off": None, "list": None}
VS_COMMANDS: dict[str, Any] = {
    "/announce": None,
    "/autosavenow": None,
    "/ban": None,
    "/entity": None,
    "/gamemode": None,
    "/genbackup": None,
    "/giveitem": None,
    "/help": None,
    "/info": {"seed": None, "mapsize": None},
    "/kick": None,
    "/list": _LIST,
    "/op": None,
    "/player": None,
    "/role": None,
    "/serverconfig": None,
    "/stats": None,
    "/stop": None,
    "/time": _TIME,
    "/tp": None,
    "/unban": None,
    "/weather": None,
    "/whitelist": _WHITELIST,
    "/wgen": None,
}


def history_path(env: Mapping[str, str] | None = None) -> Path:
    """The prompt's ↑/↓ history: ``$XDG_CONFIG_HOME/vsmanager/history``, private to the user."""
    path = config_dir(env) / HISTORY_FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Commands can name players and passwords: create the file readable by its owner only.
    os.close(os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600))
    return path


class CommandCompleter(Completer):
    """Completes the command word (``/ann`` -> ``/announce``), then known sub-commands."""

    def __init__(self, commands: Mapping[str, Any]) -> None:
        self.commands = commands

    def get_completions(self, document: Document,
                        complete_event: CompleteEvent) -> Iterator[Completion]:
        text = document.text_before_cursor.lstrip()
        words = text.split(" ")
        options: Mapping[str, Any] | None = self.commands
        for word in words[:-1]:
            if not word:
                continue
            options = options.get(word.lower()) if options is not None else None
            if not isinstance(options, Mapping):
                return
        prefix = words[-1].lower()
        for name in sorted(options or {}):
            if name.startswith(prefix):
                # The space after it saves a keystroke: a command word is always followed
                # by its arguments or by Enter, and the game ignores a trailing space.
                yield Completion(name + " ", start_position=-len(words[-1]), display=name)


class PromptPrinter(Printer):
    """A Printer that keeps the prompt showing the server's state."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.state = "connecting"
        self.session: PromptSession[str] | None = None
        # The prompt line is erased on Enter (the echo shows the command once, with who ran
        # it), so a refusal names the command it refuses.
        self.sent: str | None = None

    def on_lines(self, lines: list[Line]) -> None:
        if self.sent is not None and any(
                line.get("stream") == "command" and line.get("text") == self.sent for line in lines):
            self.sent = None
        super().on_lines(lines)

    def on_error(self, code: str, message: str) -> None:
        if self.sent is None:
            super().on_error(code, message)
            return
        self.on_notice(f"not run: {self.sent}: {message}")
        self.sent = None

    def on_status(self, status: Mapping[str, Any]) -> None:
        super().on_status(status)
        self.state = str(status.get("state", "unknown"))
        if self.session is not None and self.session.app.is_running:
            self.session.app.invalidate()

    def prompt(self) -> str:
        return f"{self.state}> "


async def run_interactive(endpoint: Endpoint, printer: PromptPrinter, start: Start) -> int:
    session: PromptSession[str] = PromptSession(
        history=FileHistory(str(history_path())),
        completer=CommandCompleter(VS_COMMANDS),
        complete_while_typing=False,
        erase_when_done=True,  # the console's echo of the command is its one line
    )
    printer.session = session
    watcher = ConsoleWatcher(endpoint, printer, after=start.after, console_id=start.console_id,
                             retries=None)
    with patch_stdout(raw=True):
        streaming = asyncio.create_task(watcher.run(), name="console-watcher")
        # A watcher that gives up (key refused) must end the prompt too.
        streaming.add_done_callback(lambda _: _leave_prompt(session))
        try:
            await _prompt_loop(session, printer, watcher, streaming)
        finally:
            streaming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await streaming
    return 0


async def _prompt_loop(session: PromptSession[str], printer: PromptPrinter,
                       watcher: ConsoleWatcher, streaming: asyncio.Task[None]) -> None:
    printer.on_notice("type a command and press Enter; Tab completes; Ctrl+D or Ctrl+C "
                      "leaves (the server keeps running)")
    while True:
        try:
            text = await session.prompt_async(printer.prompt)
        except (KeyboardInterrupt, EOFError):
            printer.on_notice("left the console; the server keeps running")
            return
        if streaming.done():
            streaming.result()  # raises what ended it
            return
        command = (text or "").strip()
        if not command:
            continue
        try:
            validate_command(command, COMMAND_MAX_CHARS)
        except InvalidCommand as exc:
            printer.on_notice(f"not sent: {command}: {exc}")
            continue
        printer.sent = command
        if not await watcher.send_command(command):
            printer.sent = None
            printer.on_notice(f"not sent: {command}: not connected to vsmanager just now")


def _leave_prompt(session: PromptSession[str]) -> None:
    if session.app.is_running:
        session.app.exit(result="")
