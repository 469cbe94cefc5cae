"""Complaint cases for officers (INTERFACES.md, "Officer inbox and complaint cases") and their console page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from app.complaints import lifecycle
from app.complaints.models import CaseStatus
from app.complaints.schemas import ComplaintDetail, ComplaintList, StatusChange
from app.deps import ServicesDep, SessionDep
from app.officers.auth import CurrentOfficer
from app.officers.console import SECURITY_HEADERS, templates
from app.officers.desk import OfficerDeskDep
from app.officers.errors import as_http

MAX_QUERY_CODE_POINTS = 200

router = APIRouter(prefix="/api/officer/complaints", tags=["complaints"])
page_router = APIRouter(include_in_schema=False)


@router.get("")
async def list_complaints(
    officer: CurrentOfficer,
    session: SessionDep,
    status: CaseStatus | None = None,
    q: Annotated[str | None, Query(max_length=MAX_QUERY_CODE_POINTS)] = None,
) -> ComplaintList:
    return ComplaintList(complaints=await lifecycle.list_cases(session, officer, status, q))


@router.get("/{number}")
async def complaint(number: str, officer: CurrentOfficer, session: SessionDep) -> ComplaintDetail:
    with as_http():
        return await lifecycle.case_detail(session, officer, number)


@router.post("/{number}/status")
async def change_status(
    number: str, body: StatusChange, officer: CurrentOfficer, desk: OfficerDeskDep, session: SessionDep
) -> ComplaintDetail:
    with as_http():
        case = await lifecycle.change_status(desk, officer, number, body.status, body.note)
        return await lifecycle.case_detail(session, officer, case.number)


@page_router.get("/console/complaints", response_class=HTMLResponse)
async def complaints_page(request: Request, services: ServicesDep) -> HTMLResponse:
    departments = [
        {"id": d.id, "name_th": d.name_th, "target_wait_minutes": d.target_wait_minutes}
        for d in services.kb.store.current.departments.values()
    ]
    response = templates.TemplateResponse(request, "console/complaints.html", {"departments": departments})
    response.headers.update(SECURITY_HEADERS)
    return response
