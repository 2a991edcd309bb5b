"""The unit `vsmanager systemd-unit` prints, run by a real systemd (booted with systemd-nspawn),
with the simulator as the game: stop, kill -9, reload and restart do what docs/deploy.md says.

Each test starts vsmanager afresh from `vsmanager init`-like config; the console is watched
over the real WebSocket from inside the machine's network, the rest read from the journal.
Figures (printed, run with -s to see them) are in docs/deploy.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest
from nspawn import REPO, JournalEntry, Machine, MachineRefused, machine, unavailable

from harness import TIME_SCALE

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

PYTHON = REPO / ".venv" / "bin" / "python"
VSMANAGER = REPO / ".venv" / "bin" / "vsmanager"
UNIT = "vsmanager.service"
CONFIG = "/etc/vsmanager/vsmanager.toml"
WORKDIR = "/srv/vs"
USER = "vintagestory"
ADMIN_KEY = "deploy-admin-key-0123456789abcdef"
API = "http://127.0.0.1:8080/api/v1alpha1"
STOP_TIMEOUT_S, KILL_TIMEOUT_S = 40, 5
SAVED = "World saved!"

T = TypeVar("T")

_HTTP = """
import httpx, sys
r = httpx.request(sys.argv[1], sys.argv[2], headers={"X-API-Key": sys.argv[3]}, timeout=10)
print(r.status_code)
print(r.text)
"""

_WATCH = """
import asyncio, json, sys, websockets
async def main():
    async with websockets.connect(sys.argv[1], max_size=None) as ws:
        try:
            async for raw in ws:
                frame = json.loads(raw)
                for line in frame.get("lines", []) if frame.get("type") == "lines" else []:
                    print(line["text"], flush=True)
        except websockets.ConnectionClosed:
            pass
        print(f"closed {ws.close_code}", flush=True)
asyncio.run(main())
"""


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machine]:
    reason = unavailable()
    if reason is not None:
        pytest.skip(reason)
    if not PYTHON.exists():
        pytest.skip(f"no {PYTHON.relative_to(REPO)} (run scripts/install)")
    try:
        with machine(tmp_path_factory.mktemp("nspawn") / "boot.log") as booted:
            booted.run(["systemd-sysusers", "-"], input=f'u {USER} - "Vintage Story" {WORKDIR}\n')
            yield booted
    except MachineRefused as refused:
        if refused.kernel_refused is None:
            raise
        pytest.skip(f"this kernel will not boot a container: {refused.kernel_refused}")


def wait_for(check: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout * TIME_SCALE
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Service:
    """vsmanager as a user deploys it: config, key, unit from `vsmanager systemd-unit`."""

    def __init__(self, box: Machine, save_seconds: float) -> None:
        self.box = box
        self.watchers: list[subprocess.Popen[str]] = []
        self.uid = int(box.run(["id", "-u", USER]).stdout)
        game = (f"{PYTHON} -u -m vsmanager simulate --startup-seconds 0.5 "
                f"--save-seconds {save_seconds:g} --event-interval 3600")
        shutil.rmtree(box.path(WORKDIR), ignore_errors=True)
        box.path(WORKDIR).mkdir(parents=True)
        os.chown(box.path(WORKDIR), self.uid, self.uid)
        self.write_keys({"alice": "alice-key-0123456789abcdef"})
        box.write("/etc/vsmanager/admin.key", ADMIN_KEY + "\n", self.uid, 0o600)
        box.write(CONFIG, (
            'api_key_admin_file = "admin.key"\n'
            'keys_file = "keys.json"\n'
            f'server_command = "{game}"\n'
            f'[server]\nworkdir = "{WORKDIR}"\n'
            f"autostart = true\nstop_timeout = {STOP_TIMEOUT_S}\nkill_timeout = {KILL_TIMEOUT_S}\n"
        ), self.uid, 0o640)
        os.chown(box.path("/etc/vsmanager"), self.uid, self.uid)
        unit = box.run([str(VSMANAGER), "systemd-unit", "--config", CONFIG, "--user", USER]).stdout
        box.write(f"/etc/systemd/system/{UNIT}", unit)
        if REPO.is_relative_to("/tmp"):
            # A checkout under /tmp (a CI clone may be) would vanish behind the unit's private
            # /tmp: a drop-in turns that one setting off; the rest runs as printed.
            box.write(f"/etc/systemd/system/{UNIT}.d/checkout-in-tmp.conf", "[Service]\nPrivateTmp=no\n")
        box.systemctl("daemon-reload")
        self.unit = unit

    def write_keys(self, keys: dict[str, str]) -> None:
        records = [{"name": name, "role": "admin", "created": "2026-12-01T22:00:00Z",
                    "sha256": hashlib.sha256(key.encode()).hexdigest()} for name, key in keys.items()]
        self.box.write("/etc/vsmanager/keys.json", json.dumps({"version": 1, "keys": records}),
                       self.uid, 0o600)

    def start(self) -> dict[str, object]:
        started = self.box.run(["systemctl", "start", UNIT], check=False)
        if started.returncode != 0:
            log = "\n".join(e.message for e in self.journal(0)[-30:])
            raise AssertionError(f"systemctl start failed: {started.stderr}\n{log}")
        return self.wait_running()

    def wait_running(self, not_pid: object = None) -> dict[str, object]:
        def running() -> dict[str, object] | None:
            status = self.status()
            if status.get("state") == "running" and status.get("pid") != not_pid:
                return status
            return None
        return wait_for(running, 60, "the game running under vsmanager")

    def http(self, method: str, path: str, key: str = ADMIN_KEY) -> tuple[int, str]:
        result = self.box.run([sys.executable, "-c", _HTTP, method, API + path, key],
                              net_only=True, check=False)
        if result.returncode != 0:
            return 0, result.stderr
        code, _, body = result.stdout.partition("\n")
        return int(code), body

    def status(self) -> dict[str, object]:
        code, body = self.http("GET", "/server/status")
        return dict(json.loads(body)) if code == 200 else {}

    def watch(self) -> subprocess.Popen[str]:
        url = f"ws://127.0.0.1:8080/api/v1alpha1/console/ws?api_key={ADMIN_KEY}&format=json"
        watcher = self.box.popen([sys.executable, "-c", _WATCH, url], stdout=subprocess.PIPE)
        self.watchers.append(watcher)
        return watcher

    def main_pid(self) -> int:
        return int(self.box.show(UNIT, "MainPID"))

    def journal(self, since: float) -> list[JournalEntry]:
        return self.box.journal(UNIT, since)

    def stop(self) -> None:
        for watcher in self.watchers:
            if watcher.poll() is None:
                watcher.kill()
            watcher.communicate()
        self.box.systemctl("stop", UNIT, check=False)
        self.box.systemctl("reset-failed", UNIT, check=False)


@pytest.fixture
def service_factory(box: Machine) -> Iterator[Callable[[float], Service]]:
    made: list[Service] = []

    def make(save_seconds: float) -> Service:
        service = Service(box, save_seconds)
        made.append(service)
        return service

    yield make
    for service in made:
        service.stop()


def watched(watcher: subprocess.Popen[str], timeout: float = 30) -> list[str]:
    try:
        out, _ = watcher.communicate(timeout=timeout * TIME_SCALE)
    except subprocess.TimeoutExpired:
        watcher.kill()
        out, _ = watcher.communicate()
    return out.splitlines()


def events(entries: list[JournalEntry], name: str) -> list[tuple[float, dict[str, object]]]:
    return [(entry.at, entry.event()) for entry in entries if entry.event().get("event") == name]


def test_systemctl_stop_gives_the_game_its_stop_command_and_its_save(
    service_factory: Callable[[float], Service],
) -> None:
    service = service_factory(2)
    service.start()
    watcher = service.watch()
    wait_for(lambda: service.status().get("state") == "running", 10, "the watcher's connection")
    time.sleep(0.5 * TIME_SCALE)
    began = time.time()
    service.box.systemctl("stop", UNIT)
    took = time.time() - began
    lines = watched(watcher)
    timeout_stop = int(re.search(r"^TimeoutStopSec=(\d+)$", service.unit, re.M).group(1))  # type: ignore[union-attr]
    print(f"\nsystemctl stop took {took:.2f} s (TimeoutStopSec={timeout_stop})")
    assert "/stop" in lines
    assert any(SAVED in line for line in lines), lines
    assert any("Stopped the server!" in line for line in lines), lines
    assert "server exited with code 0" in lines, lines
    assert not any("SIGTERM" in line or "SIGKILL" in line for line in lines), lines
    assert took < timeout_stop
    assert service.box.show(UNIT, "Result") == "success"
    assert service.box.show(UNIT, "ExecMainStatus") == "0"


def test_kill_9_of_vsmanager_still_stops_the_game_its_own_way_then_systemd_brings_it_back(
    service_factory: Callable[[float], Service],
) -> None:
    # The save takes longer than RestartSec and the next vsmanager's start-up: it is up, and
    # must wait, while the old game saves.
    service = service_factory(20)
    old_game = service.start()["pid"]
    old_main = service.main_pid()
    killed = time.time()
    service.box.run(["kill", "-9", str(old_main)])
    gone = "vsmanager last resort: the game is gone"
    entries = wait_for(lambda: (lambda e: e if any(gone in x.message for x in e) and events(
        e, "server_started") else None)(service.journal(killed)), 60, "the old game gone, a new one")
    new_game = service.wait_running(not_pid=old_game)
    entries = service.journal(killed)
    last_resort = [e for e in entries if e.message.startswith("vsmanager last resort:")]
    said = [e.message.removeprefix("vsmanager last resort: ") for e in last_resort]
    game = [text.removeprefix("game: ") for text in said if text.startswith("game: ")]
    print("\nafter kill -9, systemd said:\n  " + "\n  ".join(
        f"+{e.at - killed:5.2f} s  {e.message}" for e in entries
        if not e.event() and e not in last_resort))
    print("\nafter kill -9, the last resort said:\n  " + "\n  ".join(
        f"+{e.at - killed:5.2f} s  {e.message}" for e in last_resort))
    assert any("sending it '/stop'" in text for text in said), said
    # The game stopped because of the console's /stop (its own words for it). Its echo of the
    # command ("Handling Console Command /stop") was missing from the journal in one CI run of
    # five, with every later line there: not explained yet, so not what this test stands on.
    assert any("Stop reason: by console" in line for line in game), game
    assert any(SAVED in line for line in game) and game[-1].endswith("Stopped the server!"), game
    assert not any("SIGTERM" in text or "SIGKILL" in text for text in said), said
    # Nothing SIGKILLed the game: systemd left the unit's other processes alone.
    assert not any("with signal SIGKILL" in e.message for e in entries), [e.message for e in entries]
    ended = next(e.at for e in last_resort if gone in e.message)
    (started_at, started), = events(entries, "server_started")
    print(f"game gone +{ended - killed:.2f} s; new game started +{started_at - killed:.2f} s")
    assert started["pid"] == new_game["pid"]
    assert ended <= started_at  # never two games on one world
    code, body = service.http("GET", "/console/history?lines=1000")
    system = [line["text"] for line in json.loads(body)["lines"] if line["stream"] == "system"]
    assert code == 200 and any("waiting up to" in text for text in system), system
    assert service.main_pid() not in (0, old_main)


def test_systemctl_reload_rereads_the_keys_and_vsmanager_stays(
    service_factory: Callable[[float], Service],
) -> None:
    service = service_factory(0.5)
    game = service.start()["pid"]
    main = service.main_pid()
    assert service.http("GET", "/server/status", "alice-key-0123456789abcdef")[0] == 200
    keys = service.box.path("/etc/vsmanager/keys.json")
    before = keys.stat()
    # Same size, same inode, same mtime: the file watcher cannot see it; only the reload can.
    service.write_keys({"carol": "carol-key-0123456789abcdef"})
    os.utime(keys, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert keys.stat().st_size == before.st_size and keys.stat().st_ino == before.st_ino
    time.sleep(2.5)  # two polls of the watcher, which see nothing
    began = time.time()
    service.box.systemctl("reload", UNIT)
    (_, reloaded), = wait_for(lambda: events(service.journal(began), "keys_reloaded"), 10,
                              "keys_reloaded")
    assert reloaded["why"] == "SIGHUP"
    assert reloaded["added"] == ["carol"] and reloaded["revoked"] == ["alice"]
    assert service.http("GET", "/server/status", "carol-key-0123456789abcdef")[0] == 200
    assert service.http("GET", "/server/status", "alice-key-0123456789abcdef")[0] == 401
    again = time.time()
    service.box.systemctl("reload", UNIT)
    (_, unchanged), = wait_for(lambda: events(service.journal(again), "keys_unchanged"), 10,
                               "keys_unchanged")
    assert unchanged["why"] == "SIGHUP"
    assert service.main_pid() == main and service.status()["pid"] == game
    assert service.box.show(UNIT, "ActiveState") == "active"


def test_systemctl_restart_is_a_stop_with_the_save_then_a_start(
    service_factory: Callable[[float], Service],
) -> None:
    service = service_factory(1)
    old_game = service.start()["pid"]
    old_main = service.main_pid()
    watcher = service.watch()
    time.sleep(1 * TIME_SCALE)
    began = time.time()
    service.box.systemctl("restart", UNIT)
    lines = watched(watcher)
    new_game = service.wait_running(not_pid=old_game)
    print(f"\nsystemctl restart: new game running {time.time() - began:.2f} s after the call")
    assert any(SAVED in line for line in lines) and "server exited with code 0" in lines, lines
    entries = service.journal(began)
    (exited_at, exited), = events(entries, "server_exited")
    (started_at, started), = events(entries, "server_started")
    assert exited["pid"] == old_game and exited["exit_code"] == 0
    assert started["pid"] == new_game["pid"] and exited_at <= started_at
    assert service.main_pid() not in (0, old_main)


def test_the_running_unit_is_rated_at_most_3_5_by_systemd_analyze_security(
    service_factory: Callable[[float], Service],
) -> None:
    service = service_factory(0.5)
    service.start()
    out = service.box.run(["systemd-analyze", "security", "--no-pager", UNIT]).stdout
    exposure = float(re.search(r"Overall exposure level for \S+: ([\d.]+)", out).group(1))  # type: ignore[union-attr]
    print(f"\nsystemd-analyze security: {exposure}")
    assert exposure <= 3.5, out
    # And the hardening did not get in the game's way: it runs and saves.
    assert service.status()["state"] == "running"
