"""`vsmanager proxy-config`: what it prints from the settings in force, and what it refuses.
The configurations themselves are loaded by the real nginx and Caddy in tests/deploy/."""

from __future__ import annotations

import re

import pytest

from vsmanager.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["proxy-config", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in [n for n in os.environ if n.startswith("VS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("VS_TRUSTED_PROXIES", "127.0.0.1")


def test_nginx_site_takes_the_limits_in_force(capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VS_HTTP_MAX_BODY_BYTES", "10000")
    monkeypatch.setenv("VS_HTTP_MAX_HEADER_BYTES", "20000")
    code, out, err = run(capsys, "nginx", "--server-name", "vs.example.net",
                         "--tls-cert", "/etc/c.pem", "--tls-key", "/etc/k.pem")
    assert code == 0 and err == ""
    assert "for nginx 1.22 (Debian 12) or later" in out
    assert "client_max_body_size 10000;" in out
    assert "large_client_header_buffers 4 20k;" in out
    assert "listen 443 ssl;" in out and "server_name vs.example.net;" in out
    assert "ssl_certificate /etc/c.pem;" in out
    assert "proxy_pass http://127.0.0.1:8080;" in out  # the unit's default
    assert "location = /api/v1alpha1/console/ws {" in out
    assert out.index("limit_conn_zone") < out.index("server {")  # http level


def test_caddy_block_masks_keys_and_tickets(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "caddy", "--server-name", "vs.example.net", "--upstream", "[::1]:9000")
    assert code == 0
    assert "for Caddy 2.6 (Debian 12) or later" in out
    assert "\nvs.example.net {\n" in out  # automatic HTTPS on 443
    assert "request>headers>X-Api-Key delete" in out
    assert "delete ticket" in out and "delete api_key" in out
    assert "log_skip" not in out  # Caddy 2.8's; 2.6 refuses it
    assert "reverse_proxy [::1]:9000" in out
    assert 'trusted_proxies = "::1"' in out


def test_warns_when_vsmanager_does_not_trust_the_proxy(capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VS_TRUSTED_PROXIES")
    code, out, err = run(capsys, "caddy")
    assert code == 0 and out
    assert 'set trusted_proxies = "127.0.0.1"' in err


def test_nginx_without_tls_listens_on_80_and_warns(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "nginx", "--listen", "127.0.0.1:8081")
    assert code == 0
    assert "listen 127.0.0.1:8081;" in out and "ssl" not in out.split("server {")[1]
    assert "no TLS" in err


@pytest.mark.parametrize("args", [
    ["nginx", "--tls-cert", "/c.pem"],
    ["nginx", "--listen", "eighty"],
    ["nginx", "--listen", "not-an-address:80"],
    ["caddy", "--listen", "70000"],
    ["caddy", "--upstream", "127.0.0.1"],
    ["caddy", "--upstream", "evil;host:80"],
    ["nginx", "--server-name", "a.example; include /etc/passwd"],
    ["nginx", "--server-name", "a {"],
], ids=["cert-without-key", "port-word", "bad-address", "port-range", "no-port",
        "upstream-semicolon", "name-semicolon", "name-brace"])
def test_refuses_bad_arguments(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert err.startswith("vsmanager proxy-config: ")


@pytest.mark.parametrize(("proxy", "args"), [
    ("nginx", ["--server-name", "vs.example.com",
               "--tls-cert", "/etc/letsencrypt/live/vs.example.com/fullchain.pem",
               "--tls-key", "/etc/letsencrypt/live/vs.example.com/privkey.pem"]),
    ("caddy", ["--server-name", "vs.example.com"]),
])
def test_deploy_docs_show_what_the_command_prints(capsys: pytest.CaptureFixture[str],
                                                  proxy: str, args: list[str]) -> None:
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text()
    fence = "caddyfile" if proxy == "caddy" else "nginx"
    shown = docs.split(f"```{fence}\n", 1)[1].split("```", 1)[0]
    code, out, _ = run(capsys, proxy, *args)
    assert code == 0
    assert shown == re.sub(r"\(vsmanager [^)]+\)", "(vsmanager 0.1.0)", out, count=1)
