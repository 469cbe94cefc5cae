"""The console's knowledge-base pages: list, entry editor, new entry and the review queue.

The pages hold no entries: kb.js asks ``/api/admin/kb`` with the officer's token. What they carry is
what the live preview needs to show an answer as each channel would: the channels' own length
limits (imported from the adapters, so a preview never promises what a channel would cut) and the
bot's button and quick-reply labels from ``responses.yml``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from app.conversations.replies import MAX_RELATED
from app.deps import ServicesDep
from app.officers.console import SECURITY_HEADERS, templates
from channels.facebook import messages as facebook_messages
from channels.line import messages as line_messages
from knowledge_base import entry_rules

router = APIRouter(include_in_schema=False)
MAX_PREFILL_CODE_POINTS = 2000


def _limits() -> dict[str, int]:
    return {
        "answer": entry_rules.MAX_ANSWER_CHARS,
        "answer_en": entry_rules.MAX_ANSWER_EN_CHARS,
        "related_shown": MAX_RELATED,
        "line_text": line_messages.MAX_TEXT,
        "line_alt_text": line_messages.MAX_ALT_TEXT,
        "line_quick_reply": line_messages.MAX_QUICK_REPLY_LABEL,
        "line_button": line_messages.MAX_BUTTON_LABEL,
        "messenger_text": facebook_messages.MAX_TEXT,
        "messenger_template": facebook_messages.MAX_TEMPLATE_TEXT,
        "messenger_quick_reply": facebook_messages.MAX_QUICK_REPLY_TITLE,
        "messenger_button": facebook_messages.MAX_BUTTON_TITLE,
    }


def _render(request: Request, services: ServicesDep, view: str, **page: Any) -> HTMLResponse:
    kb = services.kb.store.current
    responses = services.responses
    config = {
        "view": view,
        "page": page,
        "departments": [{"id": d.id, "name_th": d.name_th} for d in kb.departments.values()],
        "faq_titles": {entry.id: entry.title for entry in kb.entries.values()},
        "limits": _limits(),
        "stale_days": services.settings.kb_stale_days,
        "bot": {
            "source": responses.source_label,
            "source_en": responses.source_label_en,
            "human": responses.quick_reply_human,
        },
    }
    response = templates.TemplateResponse(request, f"console/kb_{view}.html", {"config": config})
    response.headers.update(SECURITY_HEADERS)
    return response


Prefill = Annotated[str | None, Query(max_length=MAX_PREFILL_CODE_POINTS)]


@router.get("/console/kb", response_class=HTMLResponse)
async def kb_list_page(request: Request, services: ServicesDep) -> HTMLResponse:
    return _render(request, services, "list")


@router.get("/console/kb/changes", response_class=HTMLResponse)
async def kb_changes_page(request: Request, services: ServicesDep) -> HTMLResponse:
    return _render(request, services, "changes")


@router.get("/console/kb/new", response_class=HTMLResponse)
async def kb_new_entry_page(
    request: Request, services: ServicesDep, department: Prefill = None, question: Prefill = None
) -> HTMLResponse:
    return _render(request, services, "editor", entry_id=None, department=department, question=question)


@router.get("/console/kb/entries/{entry_id}", response_class=HTMLResponse)
async def kb_entry_page(
    request: Request, services: ServicesDep, entry_id: str, add_question: Prefill = None
) -> HTMLResponse:
    return _render(request, services, "editor", entry_id=entry_id, question=add_question)
