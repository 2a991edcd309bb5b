"""``/docs`` from Swagger UI files shipped in a pinned Python package, and an OpenAPI schema
that names every error an operation can answer with.

FastAPI's own ``/docs`` loads Swagger UI from a CDN at a floating version, with an inline
script: a third party's code on the origin where the page keeps the key, and a page the
Content-Security-Policy would break. Here the files come from ``swagger-ui-bundle-v2``
(pinned in pyproject.toml) and the start-up script is a file of ours.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

DOCS_URL = "/docs"
ASSETS_URL = "/docs/assets"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{assets}/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{docs}/init.js"></script></body></html>"""

_INIT = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  layout: "BaseLayout",
  deepLinking: true,
  validatorUrl: null
});
"""

ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
}

# What each error means, as the schema says it.
ERRORS = {
    400: "The body cannot be parsed (not UTF-8 JSON text).",
    401: "Missing or invalid API key.",
    403: "The key's role may not do this, or the page's origin is not allowed.",
    409: "The game server is not in a state that allows this.",
    413: "The request body is larger than VS_HTTP_MAX_BODY_BYTES.",
    422: "The request is not valid; the message says which part.",
    429: "Too many failed authentications from this address, or too many commands (Retry-After).",
    503: "The game could not be started, or does not read its console; or too many connections.",
}
# Operations that change the game's state can meet a state that forbids it (409) and a game
# that cannot be started or does not read its input (503).
_LIFECYCLE_PATHS = ("/server/start", "/server/stop", "/server/restart", "/console/command")


def install_api_docs(app: FastAPI, title: str) -> None:
    """Serve /docs and its assets locally; document errors in /openapi.json."""
    page = _PAGE.format(title=title, assets=ASSETS_URL, docs=DOCS_URL)

    @app.get(DOCS_URL, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get(f"{DOCS_URL}/init.js", include_in_schema=False)
    async def docs_init() -> Response:
        return Response(_INIT, media_type="text/javascript")

    app.mount(ASSETS_URL, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, summary=app.summary,
                                 description=app.description, routes=app.routes)
            document_errors(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document_errors(schema: dict[str, Any]) -> None:
    """Add the error responses each operation can give, with the error body's schema."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            statuses = set()
            if operation.get("security"):
                statuses |= {401, 403, 429}
            if "requestBody" in operation:
                statuses |= {400, 413, 422}
            if operation.get("parameters"):
                statuses.add(422)
            if method == "post" and path.endswith(_LIFECYCLE_PATHS):
                statuses |= {409, 503}
            responses = operation["responses"]
            for status in sorted(statuses):
                responses.setdefault(str(status), {
                    "description": ERRORS[status],
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                })
