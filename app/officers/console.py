"""``GET /console``: the officers' web console (a server-rendered page and a little JavaScript)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.deps import ServicesDep
from app.middleware import html_security_headers

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")

# The page talks only to its own hub: no inline script, no outside assets.
SECURITY_HEADERS = {**html_security_headers(), "Cache-Control": "no-store"}


@router.get("/console", response_class=HTMLResponse)
async def console_page(request: Request, services: ServicesDep) -> HTMLResponse:
    departments = [
        {"id": d.id, "name_th": d.name_th, "target_wait_minutes": d.target_wait_minutes}
        for d in services.kb.store.current.departments.values()
    ]
    # the console names what the bot understood by the entry's Thai title, not its id
    faq_titles = {entry.id: entry.title for entry in services.kb.store.current.entries.values()}
    response = templates.TemplateResponse(
        request, "console/index.html", {"departments": departments, "faq_titles": faq_titles}
    )
    response.headers.update(SECURITY_HEADERS)
    return response
