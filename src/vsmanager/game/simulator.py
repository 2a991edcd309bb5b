"""A stand-in for VintagestoryServer.dll: its console, its commands, its way of stopping.

Texts follow the real server's where they are known (start-up, joins, leaves, chat,
overloads, the /list clients and /stats answers, stopping); the rest (answers to /help,
/time, unknown commands) are plausible and kept in tables here so they are easy to change.
Players come and go at random (seeded, so a run can be repeated), and every answer agrees
with who is online.

Why about 430 lines (over the ~350 bound): it is one program, run as the game's child
(``vsmanager simulate``, started without the rest of the command line), and most of its length
is the game's texts; it imports nothing of vsmanager but its world (sim_world.py: the SQLite
save, kept apart so this stays short).
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from vsmanager.game.sim_world import World

GAME_VERSION = "1.22.6"

STARTUP_LINES = [
    "Server logger started.",
    f"Game Version: v{GAME_VERSION} (Stable)",
    "Loaded mods (2):",
    "   ModID  Version  Name",
    f"   game   {GAME_VERSION}   Essentials",
    "Entering runphase Start",
    "Entering runphase Initialization",
    "Entering runphase Configuration",
    "Entering runphase AssetsReady",
    "Entering runphase AssetsFinalize",
    "Entering runphase ModsAndConfigReady",
    "Entering runphase GameReady",
    "Entering runphase WorldReady",
    "[Server Event] Loading 9x9x8 spawn chunks...",
    "Ok, added 49 columns, 0 left to add, waiting until these are done.",
    "Ok, 49 columns, generated!",
    "Entering runphase RunGame",
]

HELP_LINES = [
    "[Server Notification] Available commands:",
    "/announce <message> - Broadcast a message to all players",
    "/autosavenow - Save the world now",
    "/genbackup [name] - Create a backup of the world",
    "/help - Show this list",
    "/list clients|banned|role|privileges - List players, bans, roles or privileges",
    "/stats - Server statistics",
    "/stop - Save the world and stop the server",
    "/time [set|speed|stop|resume] - Show or change the game time",
]

# Who may come and play; addresses are from the documentation ranges (RFC 5737).
ROSTER = ["Tyron", "Priya13", "MKRhere", "Saraty", "Elwyn", "Kentaro", "Brumm", "Olwen"]
CHAT = [
    "anyone seen my copper pick?",
    "hiiii",
    "the temporal storm is coming, get inside",
    "selling 40 firewood for a bronze saw",
    "who built the bridge over the river? it's lovely",
    "lag?",
]
# What happens every --event-interval, by weight; an event that cannot happen (a leave
# with nobody online) gives way to a join.
EVENT_WEIGHTS = {"join": 4, "leave": 3, "chat": 4, "overload": 1, "autosave": 1}


@dataclass
class Options:
    port: int
    startup_seconds: float
    save_seconds: float
    event_interval: float
    events_per_second: float
    crash_after: float | None
    crash_code: int
    ignore_stop: bool
    max_players: int = 16
    seed: int = 42
    players: int = 0
    data_path: Path | None = None  # --dataPath: keep a real save there (sim_world.py)
    writes_per_second: float = 20.0


class Simulator:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.started = time.monotonic()
        self.commands: queue.Queue[str | None] = queue.Queue()
        self.stopping = threading.Event()
        self.sigterm = False
        self.out_lock = threading.Lock()
        self.rng = random.Random(options.seed)
        # Who is online, with the address and port they came from. Only the main thread
        # touches it (periodic events and commands both run there), so the joins, leaves,
        # /list clients and /stats always agree.
        self.online: dict[str, tuple[str, int]] = {}
        self.world: World | None = None
        if options.data_path is not None:
            self.world = World(options.data_path, options.writes_per_second)

    # -- output ---------------------------------------------------------------------------

    def say(self, message: str, channel: str | None = None) -> None:
        """One console line: timestamped like the real server unless it is a continuation."""
        if channel is not None:
            now = datetime.now()
            stamp = f"{now.day}.{now.month}.{now.year} {now:%H:%M:%S}"
            message = f"{stamp} [Server {channel}] {message}"
        with self.out_lock:
            try:
                sys.stdout.write(message + "\n")
                sys.stdout.flush()
            except BrokenPipeError:
                # Like the .NET console: with nobody reading any more, the game carries on
                # (and still saves when told to stop); what it prints goes nowhere.
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
                os.close(devnull)

    def say_logged(self, line: str) -> None:
        # Lines in the tables carry their channel as a "[Server X] " prefix.
        if line.startswith("[Server "):
            channel, _, text = line[len("[Server "):].partition("] ")
            self.say(text, channel)
        else:
            self.say(line)

    # -- lifecycle ------------------------------------------------------------------------

    def run(self) -> int:
        # A signal handler runs between two bytecodes of the main thread, possibly inside
        # the queue's lock: it only raises a flag, which the main loop polls.
        signal.signal(signal.SIGTERM, self._on_sigterm)
        threading.Thread(target=self._read_stdin, daemon=True, name="stdin").start()
        if self.options.events_per_second > 0:
            threading.Thread(target=self._chatter, daemon=True, name="chatter").start()
        step = self.options.startup_seconds / len(STARTUP_LINES)
        for line in STARTUP_LINES:
            self.say_logged(line)
            # SIGTERM is heeded during start-up too (the console is read only once running).
            if self._sleep_unless_sigterm(step):
                return self._shutdown("sigterm received")
        if self.world is not None:
            self.world.start()
        self.say(f"Dedicated Server now running on Port {self.options.port} and all ips!", "Event")
        for name in ROSTER[: min(self.options.players, self.options.max_players)]:
            self.join(name)
        return self._main_loop()

    def _on_sigterm(self, *_: object) -> None:
        self.sigterm = True

    def _sleep_unless_sigterm(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while not self.sigterm and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.05))
        return self.sigterm

    def _main_loop(self) -> int:
        next_event = time.monotonic() + self.options.event_interval
        while True:
            if self.sigterm:
                return self._shutdown("sigterm received")
            if self.options.crash_after is not None:
                if time.monotonic() - self.started >= self.options.crash_after:
                    return self._crash()
            timeout = max(0.0, next_event - time.monotonic())
            try:
                command = self.commands.get(timeout=min(timeout, 0.1))
            except queue.Empty:
                if time.monotonic() >= next_event:
                    self.periodic_event()
                    next_event = time.monotonic() + self.options.event_interval
                continue
            if command is None:  # stdin closed: a real server keeps running; so do we
                continue
            exit_code = self.handle(command)
            if exit_code is not None:
                return exit_code

    # -- players ----------------------------------------------------------------------------

    def periodic_event(self) -> None:
        kinds = list(EVENT_WEIGHTS)
        kind = self.rng.choices(kinds, weights=[EVENT_WEIGHTS[k] for k in kinds])[0]
        offline = [name for name in ROSTER if name not in self.online]
        if kind in ("leave", "chat") and not self.online:
            kind = "join"
        if kind == "join" and (not offline or len(self.online) >= self.options.max_players):
            kind = "chat" if self.online else "overload"
        if kind == "join":
            self.join(self.rng.choice(offline))
        elif kind == "leave":
            self.leave(self.rng.choice(list(self.online)))
        elif kind == "chat":
            name = self.rng.choice(list(self.online))
            self.say(f"{name}: <strong>{name}:</strong> {self.rng.choice(CHAT)}", "Chat")
        elif kind == "overload":
            ms = self.rng.randrange(520, 1400)
            self.say(f"Server overloaded. A tick took {ms}ms to complete.", "Warning")
        else:
            self.say("Mods and systems notified, now saving everything...", "Event")
            self.say(f"Offthread save of {self.rng.randrange(40, 400)} chunks done.", "Event")

    def join(self, name: str) -> None:
        address = f"::ffff:203.0.113.{self.rng.randrange(1, 255)}"
        port = self.rng.randrange(40000, 60000)
        self.online[name] = (address, port)
        self.say(f"{name} [{address}]:{port} joins.", "Event")
        if len(self.online) == 1:
            self.say("A client reconnected, resuming game calendar.", "Event")

    def leave(self, name: str) -> None:
        del self.online[name]
        self.say(f"Player {name} left.", "Event")
        if not self.online:
            self.say("All clients disconnected, pausing game calendar.", "Event")

    def _read_stdin(self) -> None:
        for raw in sys.stdin:
            self.commands.put(raw.rstrip("\r\n"))
        self.commands.put(None)

    def _chatter(self) -> None:
        interval = 1.0 / self.options.events_per_second
        count = 0
        next_at = time.monotonic()
        while not self.stopping.is_set():
            count += 1
            self.say(f"Tick {count}: chunk column {count % 97},{count % 89} generated", "Event")
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def _crash(self) -> int:
        self.say("Unhandled exception: System.NullReferenceException: Object reference not set "
                 "to an instance of an object.", "Error")
        self.say("   at Vintagestory.Server.ServerMain.Process()")
        self.say("   at Vintagestory.Server.ServerProgram.Main(String[] args)")
        return self.options.crash_code

    # -- commands -------------------------------------------------------------------------

    def handle(self, command: str) -> int | None:
        command = command.strip()
        if not command:
            return None
        self.say(f"Handling Console Command {command}", "Notification")
        name, _, arg = command.partition(" ")
        if name == "/stop":
            if self.options.ignore_stop:
                self.say("Stop ignored (simulator started with --ignore-stop)", "Warning")
                return None
            return self._shutdown("by console")
        if name == "/crash":
            return self._crash_now(arg)
        answer = self._answers().get(name)
        if answer is None:
            self.say(f"Command {name} does not exist. Use /help for a list of commands.", "Notification")
        else:
            answer(arg)
        return None

    def _crash_now(self, arg: str) -> int:
        self._crash()
        return int(arg) if arg.strip().lstrip("-").isdigit() else self.options.crash_code

    def _answers(self) -> dict[str, Callable[[str], None]]:
        return {
            "/help": self._help,
            "/stats": self._stats,
            "/list": self._list,
            "/time": lambda arg: self.say("Server time is 14:20, day 3 of May, year 1", "Notification"),
            "/announce": lambda arg: self.say(f"Server: {arg}", "Chat"),
            "/autosavenow": lambda arg: self._save("Autosave"),
            "/genbackup": self._backup,
            "/kick": self._kick,
            "/ban": self._ban,
            "/op": lambda arg: self.say(f"{arg.strip()} is now an admin.", "Notification"),
            "/player": lambda arg: self.say(f"Player {arg.strip()}: done.", "Notification"),
            "/msg": lambda arg: self.say(f"Message sent to {arg.strip().partition(' ')[0]}.", "Notification"),
        }

    def _help(self, arg: str) -> None:
        for line in HELP_LINES:
            self.say_logged(line)

    def _stats(self, arg: str) -> None:
        up = int(time.monotonic() - self.started)
        self.say(f"Version: {GAME_VERSION}")
        self.say(f"Uptime: {up // 86400} days, {up // 3600 % 24} hours, {up // 60 % 60} minutes, "
                 f"{up % 60} seconds")
        self.say(f"Players online: {len(self.online)} / {self.options.max_players}")
        self.say("Memory usage Managed/Total: 1656Mb / 2064.9 Mb")
        self.say("Loaded chunks: 49")
        self.say("Loaded entities: 12 (3 active)")
        self.say("Network TCP: 0 Packets/s or 0 Kb/s")

    def _list(self, arg: str) -> None:
        what = arg.strip() or "clients"
        if what in ("clients", "c"):
            self.say("List of online Players", "Notification")
            for index, (name, (address, port)) in enumerate(self.online.items(), 1):
                self.say(f"[{index}] {name} [{address}]:{port}")
            if not self.online:
                self.say("")
        elif what in ("banned", "role", "privileges"):
            self.say(f"List of {what}: (none)", "Notification")
        else:
            self.say("Syntax: /list clients|banned|role|privileges", "Notification")

    def _kick(self, arg: str) -> None:
        name, _, reason = arg.strip().partition(" ")
        if name not in self.online:
            self.say(f"No player with name '{name}' online", "Notification")
            return
        self.say(f"{name} has been kicked. Reason: {reason.strip() or 'none given'}", "Audit")
        self.leave(name)

    def _ban(self, arg: str) -> None:
        name, _, reason = arg.strip().partition(" ")
        self.say(f"{name} has been banned. Reason: {reason.strip() or 'none given'}", "Audit")
        if name in self.online:
            self.leave(name)

    def _save(self, why: str) -> None:
        self.say("Mods and systems notified, now saving everything...", "Event")
        time.sleep(self.options.save_seconds / 2)
        self.say("Will do offthread savegamedata saving...", "Event")
        time.sleep(self.options.save_seconds / 2)
        self.say("Offthread save of 197 chunks done.", "Event")

    def _backup(self, arg: str) -> None:
        self.say("Ok, generating backup, this might take a while", "Notification")
        self._save("Backup")
        if self.world is not None:
            self.world.backup(arg.strip() or "backup")
        self.say("Backup complete!", "Notification")

    def _shutdown(self, reason: str) -> int:
        self.stopping.set()
        self.say(f"Server stop requested, begin shutdown sequence. Stop reason: {reason}", "Notification")
        self.say("Server ticking has been suspended", "Notification")
        self.say("Entering runphase Shutdown", "Notification")
        self.say("Mods and systems notified, now saving everything...", "Event")
        time.sleep(self.options.save_seconds)
        if self.world is not None:
            self.world.stop()
        self.say("Saved player world data... (map regions, map chunks, loaded chunks, savegamedata)", "Event")
        self.say("World saved! Saved 2 chunks, 17 mapchunks, 16 mapregions.", "Event")
        self.say("Shutting down 6 server threads...", "Event")
        self.say("All threads gracefully shut down", "Event")
        self.say("Doing last tick...", "Event")
        self.say("Stopped the server!", "Event")
        return 0


HELP = "be a simulated Vintage Story server on this terminal"
DESCRIPTION = ("A stand-in for VintagestoryServer.dll: prints its console, takes its commands on "
               "stdin, saves and exits on /stop or SIGTERM.")


def main(argv: list[str]) -> int:
    """``vsmanager simulate`` on its own, without the rest of the command line's imports.

    vsmanager starts this as its game on every run (the demo, the tests): importing the web
    stack first would cost each start some 0.6 s of CPU for nothing.
    """
    parser = argparse.ArgumentParser(prog="vsmanager simulate", description=DESCRIPTION)
    add_arguments(parser)
    return run(parser.parse_args(argv))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=42420, help="port shown in the ready line (default 42420)")
    parser.add_argument("--startup-seconds", type=float, default=2.0, metavar="S",
                        help="time the startup sequence takes (default 2)")
    parser.add_argument("--save-seconds", type=float, default=1.0, metavar="S",
                        help="time a world save takes, e.g. on /stop (default 1)")
    parser.add_argument("--event-interval", type=float, default=15.0, metavar="S",
                        help="seconds between periodic events such as players joining (default 15)")
    parser.add_argument("--events-per-second", type=float, default=0.0, metavar="N",
                        help="extra event lines per second, for load (default 0)")
    parser.add_argument("--crash-after", type=float, default=None, metavar="S",
                        help="crash this many seconds after start (default: never)")
    parser.add_argument("--crash-code", type=int, default=1, metavar="CODE",
                        help="exit code of a crash, also of the /crash command (default 1)")
    parser.add_argument("--ignore-stop", action="store_true",
                        help="ignore /stop on the console (SIGTERM still stops)")
    parser.add_argument("--max-players", type=int, default=16, metavar="N",
                        help="player slots, as /stats shows them (default 16)")
    parser.add_argument("--players", type=int, default=0, metavar="N",
                        help=f"players who join once the server is ready (default 0, at most {len(ROSTER)})")
    parser.add_argument("--seed", type=int, default=42,
                        help="seed of the random players, chat and overloads (default 42)")
    parser.add_argument("--dataPath", type=Path, default=None, metavar="DIR",
                        help="keep a real SQLite save in DIR/Saves/, written steadily (default: none)")
    parser.add_argument("--writes-per-second", type=float, default=20.0, metavar="N",
                        help="transactions a second on that save (default 20)")


def run(args: argparse.Namespace) -> int:
    options = Options(
        port=args.port,
        startup_seconds=max(0.0, args.startup_seconds),
        save_seconds=max(0.0, args.save_seconds),
        event_interval=max(0.05, args.event_interval),
        events_per_second=max(0.0, args.events_per_second),
        crash_after=args.crash_after,
        crash_code=args.crash_code,
        ignore_stop=args.ignore_stop,
        max_players=max(1, args.max_players),
        seed=args.seed,
        players=max(0, args.players),
        data_path=args.dataPath,
        writes_per_second=max(0.0, args.writes_per_second),
    )
    try:
        return Simulator(options).run()
    except (BrokenPipeError, KeyboardInterrupt):
        return 1
