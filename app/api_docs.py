"""``/docs``, ``/redoc`` and ``/openapi.json`` when ``GOVCHAT_API_DOCS=true`` (otherwise 404).

FastAPI's own pages load Swagger UI and ReDoc from a CDN and run inline scripts; this page is
plain HTML built from the same OpenAPI schema: every method, path and summary, nothing fetched.
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def render_docs_page(schema: dict[str, Any]) -> str:
    rows = []
    for path, operations in sorted(schema.get("paths", {}).items()):
        for method in HTTP_METHODS:
            operation = operations.get(method)
            if operation is None:
                continue
            summary = operation.get("summary") or operation.get("description") or ""
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{escape(path)}</code></td>"
                f"<td>{escape(summary.splitlines()[0] if summary else '')}</td></tr>"
            )
    title = escape(
        f"{schema.get('info', {}).get('title', 'API')} {schema.get('info', {}).get('version', '')}"
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title></head><body><h1>{title}</h1>"
        '<p>The machine-readable description: <a href="/openapi.json">/openapi.json</a>.</p>'
        "<table><thead><tr><th>method</th><th>path</th><th>summary</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></body></html>"
    )


def install_api_docs(app: FastAPI) -> None:
    """Serve the schema and the plain docs page (call only when the operator turned them on)."""

    async def openapi_json() -> JSONResponse:
        return JSONResponse(app.openapi())

    async def docs_page() -> HTMLResponse:
        return HTMLResponse(render_docs_page(app.openapi()))

    app.add_api_route("/openapi.json", openapi_json, include_in_schema=False)
    app.add_api_route("/docs", docs_page, include_in_schema=False)
    app.add_api_route("/redoc", docs_page, include_in_schema=False)
