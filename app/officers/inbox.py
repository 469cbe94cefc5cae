"""The inbox around the queue: search and filters, the citizen panel, live department counts.

Filtering works on the rows ``views.queue`` and ``views.held`` already built (the queue of a
department is short), so how a row is built stays in one place and a filter never changes it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.complaints.models import CaseStatus, ComplaintCase
from app.complaints.service import find_number
from app.conversations.models import Citizen, Conversation, ConversationState, Escalation, Message, Sender
from app.db.schema import utcnow
from app.officers import access, repository
from app.officers.errors import NotFound
from app.officers.models import Officer, Role
from app.officers.schemas import (
    CaseBrief,
    CitizenHistory,
    CitizenIdentity,
    Colleague,
    ConversationSummary,
    DepartmentCount,
    PastEscalation,
)
from app.officers.views import target_wait_minutes
from channels.base import Channel
from knowledge_base.loader import KnowledgeBase
from nlu.client import REQUEST_HUMAN_INTENT

MAX_QUERY_CHARS = 200
MAX_HISTORY = 20
QUESTION_LOOKBACK = 5  # citizen messages looked at before an escalation for what it was about
Row = TypeVar("Row", bound=ConversationSummary)


@dataclass(frozen=True)
class InboxFilter:
    """What the officer typed and picked; ``None`` is "any"."""

    q: str | None = None
    channel: str | None = None
    department: str | None = None
    breached: bool | None = None


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _search_conditions(q: str) -> list[ColumnElement[bool]]:
    """A conversation matches a case number, a citizen's words, the channel user id or its id."""
    pattern = _like(q)
    citizen_said = exists().where(
        Message.conversation_id == Conversation.id,
        Message.sender == Sender.CITIZEN,
        Message.text.ilike(pattern, escape="\\"),
    )
    user_id = exists().where(
        Citizen.id == Conversation.citizen_id, Citizen.external_id.ilike(pattern, escape="\\")
    )
    number = find_number(q)
    case = exists().where(
        ComplaintCase.citizen_id == Conversation.citizen_id,
        ComplaintCase.number == number if number else ComplaintCase.number.ilike(pattern, escape="\\"),
    )
    return [citizen_said, user_id, case, Conversation.id == q]


async def matching_ids(session: AsyncSession, ids: Collection[str], q: str) -> set[str]:
    if not ids:
        return set()
    rows = await session.scalars(
        select(Conversation.id).where(Conversation.id.in_(ids), or_(*_search_conditions(q)))
    )
    return set(rows.all())


async def filter_rows(session: AsyncSession, rows: list[Row], wanted: InboxFilter) -> list[Row]:
    """The rows that pass every filter given, in their order."""
    kept = [
        row
        for row in rows
        if (wanted.channel is None or row.channel == wanted.channel)
        and (wanted.department is None or row.department == wanted.department)
        and (wanted.breached is None or row.over_target == wanted.breached)
    ]
    if wanted.q:
        found = await matching_ids(session, [row.id for row in kept], wanted.q)
        kept = [row for row in kept if row.id in found]
    return kept


# ---- the citizen panel ------------------------------------------------------------------------
async def _question_before(session: AsyncSession, conversation_id: str, at: dt.datetime) -> str | None:
    """What an escalation was about: the citizen's last words before it that asked more than for a person."""
    rows = await session.execute(
        select(Message.text, Message.nlu)
        .where(
            Message.conversation_id == conversation_id,
            Message.sender == Sender.CITIZEN,
            Message.created_at <= at,
            Message.text.is_not(None),
        )
        .order_by(Message.id.desc())
        .limit(QUESTION_LOOKBACK)
    )
    said = [(text, nlu or {}) for text, nlu in rows.all()]
    for text, nlu in said:
        if nlu.get("intent") != REQUEST_HUMAN_INTENT:
            return str(text)
    return str(said[0][0]) if said else None


async def citizen_history(session: AsyncSession, officer: Officer, conversation_id: str) -> CitizenHistory:
    """This channel identity's earlier hand-overs to officers and its complaint cases.

    Only for a conversation of the officer's departments; a case of another department is
    listed by number and status only (its description is that department's business).
    """
    conversation = await repository.get_conversation(session, conversation_id)
    if conversation is None or not access.can_see(officer, conversation):
        raise NotFound("no such conversation in your departments")
    citizen = await repository.get_citizen(session, conversation.citizen_id)
    escalations = (
        await session.scalars(
            select(Escalation)
            .where(Escalation.conversation_id == conversation.id)
            .order_by(Escalation.created_at.desc(), Escalation.id.desc())
            .limit(MAX_HISTORY)
        )
    ).all()
    names = await repository.usernames(session, {e.claimed_by for e in escalations if e.claimed_by})
    cases = (
        await session.scalars(
            select(ComplaintCase)
            .where(ComplaintCase.citizen_id == conversation.citizen_id)
            .order_by(ComplaintCase.created_at.desc())
            .limit(MAX_HISTORY)
        )
    ).all()
    scope = access.department_scope(officer)
    return CitizenHistory(
        citizen=CitizenIdentity(
            channel=Channel(conversation.channel),
            channel_user_id=citizen.external_id if citizen else None,
            display_name=citizen.display_name if citizen else None,
            first_seen=citizen.created_at if citizen else None,
        ),
        escalations=[
            PastEscalation(
                id=e.id,
                department=e.department,
                reason=e.reason,
                question=await _question_before(session, conversation.id, e.created_at),
                created_at=e.created_at,
                claimed_by=names.get(e.claimed_by or ""),
                resolved_at=e.resolved_at,
                rating=e.rating,
                current=e.resolved_at is None,
            )
            for e in escalations
        ],
        cases=[
            CaseBrief(
                number=case.number,
                status=CaseStatus(case.status),
                department=case.department,
                created_at=case.created_at,
                description=case.description if scope is None or case.department in scope else None,
            )
            for case in cases
        ],
    )


# ---- department counts ------------------------------------------------------------------------
async def department_counts(
    kb: KnowledgeBase, session: AsyncSession, officer: Officer
) -> list[DepartmentCount]:
    """Per department of the officer: waiting, with an officer, and waiting beyond its target."""
    departments = access.visible_departments(officer, kb.departments)
    counts: dict[str, dict[str, int]] = {
        d: {"waiting": 0, "with_officer": 0, "breached": 0} for d in departments
    }
    rows = await session.execute(
        select(Conversation.department, Conversation.state, Conversation.waiting_since).where(
            Conversation.state.in_((ConversationState.WAITING, ConversationState.WITH_OFFICER)),
            Conversation.department.in_(departments),
        )
    )
    now = utcnow()
    for department, state, waiting_since in rows.all():
        row = counts[str(department)]
        if state == ConversationState.WITH_OFFICER:
            row["with_officer"] += 1
            continue
        row["waiting"] += 1
        target = dt.timedelta(minutes=target_wait_minutes(kb, str(department)))
        if waiting_since is not None and now - waiting_since > target:
            row["breached"] += 1
    return [DepartmentCount(department=d, **row) for d, row in counts.items()]


async def colleagues(kb: KnowledgeBase, session: AsyncSession, officer: Officer) -> list[Colleague]:
    """Active officers who share a department with ``officer``: whom a supervisor may assign to."""
    all_departments = list(kb.departments)
    mine = set(access.visible_departments(officer, all_departments))
    found = []
    for other in await repository.list_officers(session):
        theirs = access.visible_departments(other, all_departments)
        if other.active and mine & set(theirs):
            found.append(
                Colleague(id=other.id, username=other.username, role=Role(other.role), departments=theirs)
            )
    return found
