"""Pages and the embeddable widget: the citizen web chat at ``/`` and ``GET /widget.js``."""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from app.middleware import html_security_headers, inline_style_hashes
from app.settings import Settings
from app.webchat.widget_script import CONFIG_PLACEHOLDER, WIDGET_SOURCE

router = APIRouter(include_in_schema=False)
TEMPLATES = Path(__file__).parent / "templates"


@router.get("/", response_class=HTMLResponse)
async def webchat_page() -> HTMLResponse:
    page = (TEMPLATES / "webchat.html").read_text(encoding="utf-8")
    return HTMLResponse(page, headers=html_security_headers(style_hashes=inline_style_hashes(page)))


@functools.cache
def _widget_script(session_days: float, retention_days: int) -> tuple[bytes, str]:
    """The widget with what it tells citizens about keeping their chat; its ETag."""
    config = json.dumps({"sessionDays": session_days, "retentionDays": retention_days})
    text = WIDGET_SOURCE.replace(CONFIG_PLACEHOLDER, config, 1)
    body = text.encode("utf-8")
    return body, '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


@router.get("/widget.js")
async def widget_script(request: Request) -> Response:
    """One ``<script src="https://HUB/widget.js" defer>`` adds the chat launcher to a page."""
    settings: Settings = request.app.state.settings
    body, etag = _widget_script(settings.webchat_session_days, settings.retention_days)
    headers = {"ETag": etag, "Cache-Control": "public, max-age=300"}  # agencies' pages pick up changes soon
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)
