"""Routing, readiness and hostile input, in process (Starlette's TestClient suffices here:
nothing below depends on socket timing)."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastapi.routing
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import ADMIN_KEY, MONITOR_KEY
from vsmanager import app as app_module
from vsmanager.app import create_app
from vsmanager.config.settings import load_settings

API = "/api/v1alpha1"
IDLE_GAME = shlex.join([sys.executable, "-c", "import time; time.sleep(60)"])


def make_settings() -> object:
    return load_settings(api_key_admin=ADMIN_KEY, api_key_monitor=MONITOR_KEY,
                         server_command=IDLE_GAME, server_autostart=False,
                         server_stop_timeout=0.5, server_kill_timeout=0.5,
                         # The fuzzers below send thousands of wrong keys from one client.
                         auth_failure_limit=1_000_000)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(make_settings()), raise_server_exceptions=False) as test_client:  # type: ignore[arg-type]
        yield test_client


def test_readyz_is_503_until_startup_has_run() -> None:
    unstarted = TestClient(create_app(make_settings()))  # type: ignore[arg-type]
    response = unstarted.get("/readyz")
    assert response.status_code == 503
    assert response.json()["code"] == "not_ready"
    with unstarted:
        assert unstarted.get("/readyz").status_code == 200


def test_root_explains_how_to_build_the_page_when_assets_are_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(app_module, "STATIC_DIR", tmp_path)
    page = TestClient(create_app(make_settings())).get("/")  # type: ignore[arg-type]
    assert page.status_code == 200
    assert "scripts/install" in page.text


text = st.text(max_size=200)
keys = st.one_of(st.just(ADMIN_KEY), st.just(MONITOR_KEY), st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=text, after=text, limit=text, key=keys)
def test_no_history_query_yields_a_server_error(
    client: TestClient, lines: str, after: str, limit: str, key: str
) -> None:
    response = client.get(f"{API}/console/history", params={"lines": lines, "after": after,
                                                            "limit": limit},
                          headers={"X-API-Key": key.encode("latin-1")})  # type: ignore[dict-item]
    assert response.status_code in (200, 401, 403, 422)
    assert "code" in response.json() or "lines" in response.json()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(
    st.binary(max_size=300),
    st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
                 lambda inner: st.lists(inner, max_size=4)
                 | st.dictionaries(st.sampled_from(["command", "type", "x"]), inner, max_size=3),
                 max_leaves=8).map(lambda v: json.dumps(v).encode()),
))
def test_no_command_body_yields_a_server_error(client: TestClient, body: bytes) -> None:
    response = client.post(f"{API}/console/command", content=body,
                           headers={"X-API-Key": ADMIN_KEY, "Content-Type": "application/json"})
    # The game is stopped here: a valid command is a 409, anything else a 422 (400 for a body
    # that is not even text).
    assert response.status_code in (400, 409, 422)
    assert response.json()["code"] in ("server_not_running", "invalid_request", "bad_request")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E,
                                           exclude_characters="?#"), max_size=60),
       method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]))
def test_no_path_or_method_yields_a_server_error(client: TestClient, path: str, method: str) -> None:
    response = client.request(method, f"{API}/{path}", headers={"X-API-Key": ADMIN_KEY})
    assert response.status_code < 500, (method, path, response.text)


@pytest.mark.parametrize("prepared", [True, False])
def test_routes_are_built_while_starting_not_at_their_first_request(
    monkeypatch: pytest.MonkeyPatch, prepared: bool
) -> None:
    # FastAPI builds an included router's routes (their parameters' schemas) when a request
    # first reaches them: event-loop time in the middle of a game. vsmanager builds them all
    # while starting (prepare_first_requests); without that, the first requests build some.
    built: list[str] = []
    context = fastapi.routing._EffectiveRouteContext
    original = context.from_api_route

    def counting(**kwargs: Any) -> Any:
        built.append(kwargs["original_route"].path)
        return original(**kwargs)

    monkeypatch.setattr(context, "from_api_route", counting)
    if not prepared:
        async def nothing(app: object) -> None:
            return None
        monkeypatch.setattr(app_module, "prepare_first_requests", nothing)
    app = create_app(make_settings())  # type: ignore[arg-type]
    built.clear()  # including a router builds a first copy, which requests do not use
    with TestClient(app) as started:
        assert bool(built) == prepared
        built.clear()
        for path in ("/server/status", "/backups", "/schedules", "/notifications", "/console/history"):
            assert started.get(f"{API}{path}", headers={"X-API-Key": ADMIN_KEY}).status_code < 500
        assert started.get("/healthz").status_code == 200
    assert (built == []) == prepared, built
