"""A real vsmanager behind a real nginx or Caddy, configured by `vsmanager proxy-config`, and
the checks both proxies must pass (tests/deploy/test_reverse_proxies.py; the page in a
browser: tests/e2e/test_behind_proxy.py).

Everything listens on loopback: the proxy on 127.0.0.1, over TLS with a throwaway self-signed
certificate; clients connect from 127.0.0.2, so the address vsmanager logs can only be the
client's if the proxy forwarded it and vsmanager believed it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from harness import ADMIN_KEY, TIME_SCALE, VsManager, free_port, run_vsmanager, stop_process

CLIENT_ADDRESS = "127.0.0.2"
SOCKET_PATH = "/api/v1alpha1/console/ws"
TIMEOUT = 10 * TIME_SCALE
BODY_LIMIT = 4096


@dataclass
class Proxied:
    vsm: VsManager
    port: int
    access_log: Path
    tls: ssl.SSLContext
    config: str

    @property
    def origin(self) -> str:
        """What a browser on the page sends: the proxy's scheme, host and port."""
        return f"https://127.0.0.1:{self.port}"

    def client(self, headers: dict[str, str] | None = None) -> httpx.Client:
        transport = httpx.HTTPTransport(local_address=CLIENT_ADDRESS, verify=self.tls)
        return httpx.Client(base_url=self.origin, transport=transport, timeout=TIMEOUT,
                            headers={"Authorization": f"Bearer {ADMIN_KEY}", **(headers or {})})


def require(program: str) -> str:
    """The program's path; a failure, not a skip, when it is missing (CI installs it)."""
    path = shutil.which(program) or next(
        (p for p in (f"/usr/sbin/{program}", f"/usr/bin/{program}") if os.access(p, os.X_OK)), None)
    if path is None:
        pytest.fail(f"{program} is not installed (Debian: apt-get install {program}; .ci/run does)")
    return path


def self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [require("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


def generate(proxy: str, vsm: VsManager, port: int, folder: Path, cert: Path, key: Path) -> str:
    """`vsmanager proxy-config` with the settings the running vsmanager was given."""
    result = subprocess.run(
        [sys.executable, "-m", "vsmanager", "proxy-config", proxy, "--server-name", "127.0.0.1",
         "--listen", f"127.0.0.1:{port}", "--upstream", f"127.0.0.1:{vsm.port}",
         "--tls-cert", str(cert), "--tls-key", str(key), "--access-log", str(folder / "access.log")],
        env=vsm.env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # vsmanager trusts the proxy: nothing to warn about
    return result.stdout


@contextlib.contextmanager
def proxied(proxy: str, folder: Path, command: list[str], env: dict[str, str] | None,
            write: dict[str, str]) -> Iterator[Proxied]:
    """vsmanager, then the proxy with the generated config (``write`` maps file names to
    text around it, with ``{site}`` where it goes); both stopped at the end."""
    with run_vsmanager(trusted_proxies="127.0.0.1", http_max_body_bytes=BODY_LIMIT) as vsm:
        cert, key = self_signed(folder)
        port = free_port()
        site = generate(proxy, vsm, port, folder, cert, key)
        for name, text in write.items():
            (folder / name).write_text(text.replace("{site}", site))
        output = open(folder / "proxy.out", "wb")
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            _wait_listening(port, process, folder / "proxy.out")
            tls = ssl.create_default_context(cafile=str(cert))
            yield Proxied(vsm, port, folder / "access.log", tls, site)
        finally:
            stop_process(process)
            output.close()


def _wait_listening(port: int, process: subprocess.Popen[bytes], output: Path) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the proxy exited with {process.returncode}:\n{output.read_text()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise AssertionError(f"the proxy never listened on {port}:\n{output.read_text()}")


# What Debian's nginx.conf wraps around a site file, minus what needs root.
NGINX_CONF = """\
daemon off;
master_process off;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    access_log off;
    include {folder}/sites-enabled/*;
}}
"""

# Global options around Caddy's site block: no admin endpoint, no redirect listener on port
# 80, no HTTP/3 (UDP); Caddy's storage in the test's folder.
CADDY_GLOBAL_OPTIONS = """\
{
\tadmin off
\tauto_https disable_redirects
\tservers {
\t\tprotocols h1 h2
\t}
}
"""


@contextlib.contextmanager
def behind_nginx(folder: Path) -> Iterator[Proxied]:
    (folder / "sites-enabled").mkdir()
    command = [require("nginx"), "-p", str(folder), "-c", str(folder / "nginx.conf")]
    files = {"nginx.conf": NGINX_CONF.format(folder=folder), "sites-enabled/vsmanager": "{site}"}
    with proxied("nginx", folder, command, None, files) as p:
        yield p


@contextlib.contextmanager
def behind_caddy(folder: Path) -> Iterator[Proxied]:
    command = [require("caddy"), "run", "--adapter", "caddyfile", "--config", str(folder / "Caddyfile")]
    env = {**os.environ, "HOME": str(folder), "XDG_DATA_HOME": str(folder / "data"),
           "XDG_CONFIG_HOME": str(folder / "config")}
    with proxied("caddy", folder, command, env, {"Caddyfile": CADDY_GLOBAL_OPTIONS + "{site}"}) as p:
        yield p


# -- the checks -------------------------------------------------------------------------------


def check_page_loads(p: Proxied) -> None:
    with p.client() as client:
        page = client.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        scripts = re.findall(r'src="([^"]+\.js)"', page.text)
        assert scripts
        for src in scripts:
            script = client.get(src, headers={"Origin": p.origin})
            assert script.status_code == 200, src
            assert "javascript" in script.headers["content-type"]


async def stream_and_command(p: Proxied, command: str) -> tuple[str, list[dict[str, object]]]:
    """As the page does: a ticket (key as a bearer token, from the page's origin), the live
    socket with it, a command sent on the socket; returns the ticket and the frames seen up
    to the command's echo. The socket is closed normally (1000)."""
    with p.client({"Origin": p.origin}) as client:
        answer = client.post("/api/v1alpha1/auth/ticket")
        assert answer.status_code == 200, answer.text
        ticket = str(answer.json()["ticket"])
    url = f"wss://127.0.0.1:{p.port}{SOCKET_PATH}?ticket={ticket}&format=json"
    frames: list[dict[str, object]] = []
    async with connect(url, ssl=p.tls, origin=p.origin, local_addr=(CLIENT_ADDRESS, 0),  # type: ignore[arg-type]
                       open_timeout=TIMEOUT, max_size=None) as ws:
        frames.append(json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT)))
        assert frames[0]["type"] == "status"
        await ws.send(json.dumps({"type": "command", "command": command}))
        async with asyncio.timeout(TIMEOUT):
            while not _echoed(frames, command):
                frames.append(json.loads(await ws.recv()))
        await ws.close(1000, "done")
    return ticket, frames


def _echoed(frames: list[dict[str, object]], command: str) -> bool:
    return any(line.get("stream") == "command" and line.get("text") == command
               for frame in frames for line in frame.get("lines") or []  # type: ignore[attr-defined]
               if isinstance(line, dict))


def wait_for_log(path: Path, needle: str) -> str:
    deadline = time.monotonic() + TIMEOUT
    while True:
        text = path.read_text(errors="replace") if path.exists() else ""
        if needle in text:
            return text
        assert time.monotonic() < deadline, f"{needle!r} never appeared in {path}:\n{text[-2000:]}"
        time.sleep(0.05)


def check_live_console_and_client_address(p: Proxied) -> None:
    asyncio.run(stream_and_command(p, "/help"))
    with p.client({"Origin": p.origin}) as client:
        answer = client.post("/api/v1alpha1/console/command", json={"command": "/stats"})
        assert answer.status_code == 202, answer.text  # the origin check passed: Host kept its port
    log = wait_for_log(p.vsm.log_path, "command=/stats")
    commands = [line for line in log.splitlines() if " console_command " in line]
    assert len(commands) == 2
    for line in commands:
        # The client's own address, as the proxy forwarded it, and the key's name.
        assert f"client={CLIENT_ADDRESS}" in line and "key_name=admin" in line, line
    assert "via=websocket" in commands[0] and "via=http" in commands[1]
    disconnected = wait_for_log(p.vsm.log_path, "console_ws_disconnected")
    assert re.search(r"console_ws_disconnected client=127\.0\.0\.2\S* close_code=1000", disconnected)


def check_no_secret_in_access_log(p: Proxied) -> None:
    ticket, _ = asyncio.run(stream_and_command(p, "/time"))
    with p.client({"X-API-Key": ADMIN_KEY}) as client:
        del client.headers["Authorization"]
        assert client.get("/api/v1alpha1/server/status").status_code == 200  # still accepted
    with p.client() as client:
        assert client.get("/metrics").status_code == 200
    # The seed's clients put the key in the socket's URL.
    url = f"wss://127.0.0.1:{p.port}{SOCKET_PATH}?api_key={ADMIN_KEY}&format=json"

    async def legacy() -> None:
        async with connect(url, ssl=p.tls, open_timeout=TIMEOUT) as ws:
            await asyncio.wait_for(ws.recv(), TIMEOUT)

    asyncio.run(legacy())
    log = wait_for_log(p.access_log, "/metrics")
    log = wait_for_log(p.access_log, SOCKET_PATH)
    deadline = time.monotonic() + TIMEOUT  # each socket is logged when it ends
    while log.count(SOCKET_PATH) < 2:
        assert time.monotonic() < deadline, log
        time.sleep(0.05)
        log = p.access_log.read_text()
    assert "/api/v1alpha1/server/status" in log
    assert ADMIN_KEY not in log
    assert ticket not in log


def check_oversized_body_is_413(p: Proxied) -> None:
    body = json.dumps({"command": "x" * (4 * BODY_LIMIT)}).encode()
    with p.client({"Content-Type": "application/json"}) as client:
        declared = client.post("/api/v1alpha1/console/command", content=body)
        assert declared.status_code == 413
        chunked = client.post("/api/v1alpha1/console/command",
                              content=iter([body[i:i + 1024] for i in range(0, len(body), 1024)]))
        assert chunked.status_code == 413
        # The connection still serves the next request, or a new one does.
        assert client.get("/api/v1alpha1/server/status").status_code == 200
