"""Pages: the citizen web-chat widget at ``/``."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from app.middleware import html_security_headers, inline_style_hashes

router = APIRouter(include_in_schema=False)
TEMPLATES = Path(__file__).parent / "templates"


@router.get("/", response_class=HTMLResponse)
async def webchat_page() -> HTMLResponse:
    page = (TEMPLATES / "webchat.html").read_text(encoding="utf-8")
    return HTMLResponse(page, headers=html_security_headers(style_hashes=inline_style_hashes(page)))
