"""Insights, open data and knowledge-base suggestions (supervisors and admins), and their page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from app.db.schema import utcnow
from app.deps import ServicesDep, SessionDep
from app.insights import opendata, service
from app.insights.drafts import SuggestionError
from app.insights.schemas import InsightsReport, SuggestionDraft, SuggestionRequest
from app.officers import access
from app.officers.auth import current_officer
from app.officers.console import SECURITY_HEADERS
from app.officers.models import Officer

router = APIRouter(prefix="/api/admin", tags=["insights"])
page_router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
MAX_DAYS = 366


async def current_supervisor(officer: Annotated[Officer, Depends(current_officer)]) -> Officer:
    if not access.can_overrule(officer):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "supervisors and administrators only")
    return officer


CurrentSupervisor = Annotated[Officer, Depends(current_supervisor)]


@router.get("/insights")
async def insights(
    officer: CurrentSupervisor,
    services: ServicesDep,
    session: SessionDep,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = 7,
) -> InsightsReport:
    return await service.build_insights(
        session,
        services.kb.store.current,
        days=days,
        answer_threshold=services.settings.answer_threshold,
        stale_after_days=services.settings.kb_stale_days,
        now=utcnow(),
    )


@router.get(
    "/opendata.csv",
    response_class=Response,
    responses={
        200: {"description": "UTF-8 CSV with a BOM", "content": {"text/csv": {"schema": {"type": "string"}}}}
    },
)
async def open_data(
    officer: CurrentSupervisor,
    session: SessionDep,
    services: ServicesDep,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
) -> Response:
    try:
        start, end = opendata.parse_period(from_, to)
    except opendata.OpenDataRequestError as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from error
    body = await opendata.build_open_data(session, start, end, services.kb.store.current.entries.keys())
    disposition = f'attachment; filename="{opendata.file_name(start, end)}"'
    return Response(
        body.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )


@router.post(
    "/kb/suggestions",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": SuggestionDraft, "description": "The same suggestion was drafted before"}},
)
async def suggest_question(
    body: SuggestionRequest, officer: CurrentSupervisor, services: ServicesDep, response: Response
) -> SuggestionDraft:
    """Copy a question into a draft under ``knowledge_base/drafts/`` (never live until curated)."""
    try:
        draft = await service.suggest_question(
            services.kb.store, services.transactions, officer, body.faq_id or None, body.question
        )
    except SuggestionError as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from error
    if not draft.created:
        response.status_code = status.HTTP_200_OK
    return SuggestionDraft(
        path=draft.relative_path, faq_id=draft.faq_id, question=draft.question, created=draft.created
    )


@page_router.get("/console/insights", response_class=HTMLResponse)
async def insights_page(request: Request, services: ServicesDep) -> HTMLResponse:
    """The page holds no citizen data: its script asks the API with the officer's token."""
    kb = services.kb.store.current
    context = {
        "faq_titles": {entry.id: entry.title for entry in kb.entries.values()},
        "departments": {department.id: department.name_th for department in kb.departments.values()},
        "stale_days": services.settings.kb_stale_days,
    }
    response = templates.TemplateResponse(request, "insights/index.html", context)
    response.headers.update(SECURITY_HEADERS)
    return response


def include_insights_routers(app: FastAPI) -> None:
    app.include_router(router)
    app.include_router(page_router)
