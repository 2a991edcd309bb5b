"""Security headers, /docs from local files, the schema's error codes, and 405."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from harness import VsManager, run_vsmanager

API = "/api/v1alpha1"


@pytest.fixture(scope="module")
def vsm() -> Iterator[VsManager]:
    with run_vsmanager(autostart=False) as manager:
        yield manager


@pytest.fixture(scope="module")
def http(vsm: VsManager) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=vsm.url, headers={"X-API-Key": vsm.admin_key}) as client:
        yield client


@pytest.mark.parametrize("path", ["/", "/docs", f"{API}/server/status", "/healthz", "/no/such"],
                         ids=["page", "docs", "api", "health", "missing"])
def test_every_response_carries_the_security_headers(http: httpx.Client, path: str) -> None:
    headers = http.get(path).headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"
    csp = dict(d.strip().split(" ", 1) for d in headers["content-security-policy"].split(";"))
    assert csp["script-src"] == "'self'"
    assert csp["connect-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["default-src"] == "'none'"


def test_the_page_has_no_inline_script(http: httpx.Client) -> None:
    page = http.get("/").text
    for tag in re.findall(r"<script\b[^>]*>", page):
        assert "src=" in tag, tag
    assert not re.search(r"<script\b[^>]*>\s*[^<\s]", page)  # no script body
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", page)  # no inline event handlers


def test_docs_load_only_local_pinned_assets(http: httpx.Client) -> None:
    page = http.get("/docs").text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith("/") or s.startswith("data:") for s in sources), sources
    assert not re.search(r"<script\b[^>]*>\s*[^<\s]", page)
    for source in sources:
        if source.startswith("/"):
            response = http.get(source)
            assert response.status_code == 200, source
    bundle = http.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert "cdn" not in page.lower()


def test_redoc_from_a_cdn_is_gone(http: httpx.Client) -> None:
    assert http.get("/redoc").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "statuses"),
    [("get", "/server/status", {"401", "403", "429"}),
     ("post", "/server/start", {"401", "403", "409", "422", "429", "503"}),
     ("post", "/console/command", {"401", "403", "409", "413", "422", "429", "503"}),
     ("get", "/console/history", {"401", "403", "422", "429"})],
    ids=["status", "start", "command", "history"],
)
def test_the_schema_documents_each_error(http: httpx.Client, method: str, path: str,
                                         statuses: set[str]) -> None:
    schema = http.get("/openapi.json").json()
    responses = schema["paths"][API + path][method]["responses"]
    assert statuses <= set(responses), sorted(responses)
    assert responses["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


def test_a_wrong_method_on_an_api_path_is_405_with_allow(http: httpx.Client) -> None:
    response = http.delete(f"{API}/server/status")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert response.json()["code"] == "method_not_allowed"


def test_an_unknown_api_path_is_404_whatever_the_method(http: httpx.Client) -> None:
    for method in ("GET", "POST", "DELETE"):
        response = http.request(method, f"{API}/no/such/thing")
        assert response.status_code == 404, method
        assert response.json()["code"] == "not_found"
