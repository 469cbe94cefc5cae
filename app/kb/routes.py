"""Knowledge-base authoring API (``INTERFACES.md`` "Knowledge-base authoring", ``kb-api.md``): supervisors and admins."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator

from app.db.schema import utcnow
from app.deps import ServicesDep, SessionDep
from app.kb import service
from app.kb.fields import FieldProblem
from app.kb.live import DatabaseKnowledgeBase
from app.kb.models import ChangeStatus
from app.kb.near_duplicates import near_duplicates
from app.kb.schemas import (
    ChangePublished,
    ChangeRejected,
    ChangeSubmitted,
    DraftCheck,
    DraftProblem,
    EntryHistory,
    InvalidChange,
    KbChangeDetail,
    KbChanges,
    KbEntries,
    KbEntryDetail,
)
from app.kb.views import change_view
from app.officers import access
from app.officers.auth import current_officer
from app.officers.models import Officer

router = APIRouter(prefix="/api/admin/kb", tags=["knowledge base"])
NOT_FOUND = "ไม่พบรายการนี้"


async def current_editor(officer: Annotated[Officer, Depends(current_officer)]) -> Officer:
    if not access.can_overrule(officer):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "หัวหน้างานและผู้ดูแลระบบเท่านั้น")
    return officer


Editor = Annotated[Officer, Depends(current_editor)]


async def database_knowledge_base(services: ServicesDep) -> DatabaseKnowledgeBase:
    return services.kb


KbDep = Annotated[DatabaseKnowledgeBase, Depends(database_knowledge_base)]


def invalid_response(problems: list[FieldProblem]) -> JSONResponse:
    detail = [
        {
            "loc": ["body", "entry_id"] if problem.field == "id" else ["body", "fields", problem.field],
            "field": problem.field,
            "msg": problem.msg,
            "type": "kb_invalid",
        }
        for problem in problems
    ]
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


@contextlib.contextmanager
def as_http() -> Iterator[None]:
    try:
        yield
    except service.KbNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND) from error
    except service.KbConflict as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error


class ChangeRequest(BaseModel):
    entry_id: str = Field(min_length=1, max_length=64)
    department: str = Field(min_length=1, max_length=32)
    fields: dict[str, Any]


class RejectRequest(BaseModel):
    note: str = Field(min_length=1, max_length=2000)

    @field_validator("note")
    @classmethod
    def _not_blank(cls, note: str) -> str:
        if not note.strip():
            raise ValueError("ต้องระบุเหตุผลที่ส่งกลับ")
        return note.strip()


@router.get("/entries")
async def list_entries(
    officer: Editor,
    session: SessionDep,
    services: ServicesDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    department: Annotated[str | None, Query(max_length=32)] = None,
    stale: bool = False,
    expiring: bool = False,
) -> KbEntries:
    wanted = service.EntryFilter(
        q=q or None,
        department=department or None,
        stale=stale,
        expiring=expiring,
        stale_after_days=services.settings.kb_stale_days,
    )
    return KbEntries(entries=await service.list_entries(session, officer, wanted, utcnow().date()))


@router.get("/entries/{entry_id}")
async def get_entry(entry_id: str, officer: Editor, session: SessionDep) -> KbEntryDetail:
    with as_http():
        return await service.entry_detail(session, officer, entry_id)


@router.get("/entries/{entry_id}/history")
async def entry_history(entry_id: str, officer: Editor, session: SessionDep) -> EntryHistory:
    with as_http():
        return EntryHistory(versions=await service.history(session, officer, entry_id))


@router.post(
    "/changes",
    status_code=status.HTTP_201_CREATED,
    response_model=ChangeSubmitted,
    responses={
        status.HTTP_422_UNPROCESSABLE_CONTENT: {
            "model": InvalidChange,
            "description": "A change `kb validate` would refuse: a Thai reason per field",
        }
    },
)
async def create_change(
    body: ChangeRequest, officer: Editor, services: ServicesDep, kb: KbDep
) -> ChangeSubmitted | JSONResponse:
    try:
        with as_http():
            change = await service.create_change(
                services.sessionmaker, kb, officer, body.entry_id, body.department, body.fields
            )
    except service.KbInvalid as error:
        return invalid_response(error.problems)
    return ChangeSubmitted(change_id=change.id, status=ChangeStatus(change.status))


@router.get("/changes")
async def list_changes(
    officer: Editor,
    session: SessionDep,
    status_: Annotated[ChangeStatus | None, Query(alias="status")] = None,
    entry_id: Annotated[str | None, Query(max_length=64)] = None,
) -> KbChanges:
    return KbChanges(changes=await service.list_changes(session, officer, status_, entry_id))


@router.get("/changes/{change_id}")
async def get_change(change_id: str, officer: Editor, session: SessionDep) -> KbChangeDetail:
    with as_http():
        change = await service.visible_change(session, officer, change_id)
        return await change_view(session, change)


@router.post("/changes/{change_id}/approve")
async def approve_change(
    change_id: str, officer: Editor, services: ServicesDep, kb: KbDep
) -> ChangePublished:
    with as_http():
        change, entry = await service.approve_change(services.sessionmaker, kb, officer, change_id)
    return ChangePublished(
        change_id=change.id,
        status=ChangeStatus(change.status),
        version=change.published_version,
        entry=entry,
    )


@router.post("/changes/{change_id}/reject")
async def reject_change(
    change_id: str, body: RejectRequest, officer: Editor, services: ServicesDep
) -> ChangeRejected:
    with as_http():
        change = await service.reject_change(services.sessionmaker, officer, change_id, body.note)
    return ChangeRejected(change_id=change.id, status=ChangeStatus(change.status), note=change.note)


@router.post("/check")
async def check(
    body: ChangeRequest, officer: Editor, services: ServicesDep, session: SessionDep, kb: KbDep
) -> DraftCheck:
    """The change's problems as ``POST /changes`` would find them, and questions other entries already answer."""
    with as_http():
        try:
            current, draft = await service.check_change(
                session, kb, officer, body.entry_id, body.department, body.fields
            )
        except service.KbInvalid as error:
            return DraftCheck(problems=_problems(error.problems), near_duplicates=[])
    questions = draft.entry.questions if draft.entry else _draft_questions(body.fields)
    known = set(current.fields.get("questions") or []) if current else set()
    similar = await near_duplicates(services, body.entry_id, [q for q in questions if q not in known])
    return DraftCheck(problems=_problems(draft.problems), near_duplicates=similar)


def _problems(problems: list[FieldProblem]) -> list[DraftProblem]:
    return [DraftProblem(field=problem.field, msg=problem.msg) for problem in problems]


def _draft_questions(fields: dict[str, Any]) -> list[str]:
    questions = fields.get("questions")
    if not isinstance(questions, list):
        return []
    return [q.strip() for q in questions if isinstance(q, str) and q.strip()]
