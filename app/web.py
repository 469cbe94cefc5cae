"""Pages: the citizen web-chat widget at ``/``."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)
TEMPLATES = Path(__file__).parent / "templates"


@router.get("/", response_class=HTMLResponse)
async def webchat_page() -> HTMLResponse:
    return HTMLResponse((TEMPLATES / "webchat.html").read_text(encoding="utf-8"))
