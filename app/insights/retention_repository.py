"""SQL for retention and data-subject requests: what is due, what is protected. No rules here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, String, and_, cast, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.complaints.models import CaseStatus, ComplaintCase
from app.conversations.models import (
    Citizen,
    Conversation,
    ConversationState,
    Escalation,
    Message,
    Sender,
    WorkItem,
    WorkStatus,
)
from app.officers.models import AuditRecord, ConversationNote

OPEN_STATES = (ConversationState.WAITING, ConversationState.WITH_OFFICER)
REDACTED_PAYLOAD: dict[str, Any] = {"redacted": True}


def open_conversation_ids() -> Select[tuple[str]]:
    """Conversations retention must not touch: with the officers, or with a complaint not closed."""
    waiting = select(Conversation.id).where(Conversation.state.in_(OPEN_STATES))
    complaints = select(ComplaintCase.conversation_id).where(ComplaintCase.status != CaseStatus.CLOSED)
    return waiting.union(complaints)  # type: ignore[return-value]


def _protected_citizen_ids() -> Select[tuple[str]]:
    conversations = select(Conversation.citizen_id).where(Conversation.id.in_(open_conversation_ids()))
    complaints = select(ComplaintCase.citizen_id).where(ComplaintCase.status != CaseStatus.CLOSED)
    return conversations.union(complaints)  # type: ignore[return-value]


def _not_redacted(column: Any) -> Any:
    return column["redacted"].as_string().is_(None)


async def citizen_messages_due(session: AsyncSession, cutoff: dt.datetime, limit: int) -> Sequence[Message]:
    """Citizens' messages older than ``cutoff`` still holding text or attachments, outside open ones."""
    has_content = or_(Message.text.is_not(None), Message.extra["attachments"].as_string().is_not(None))
    rows = await session.scalars(
        select(Message)
        .where(
            Message.direction == "in",
            Message.sender == Sender.CITIZEN,
            Message.created_at < cutoff,
            has_content,
            Message.conversation_id.not_in(open_conversation_ids()),
        )
        .order_by(Message.id)
        .limit(limit)
    )
    return rows.all()


async def redact_profiles(session: AsyncSession, cutoff: dt.datetime) -> int:
    """Display names of citizens not heard from since ``cutoff`` (none with open matters)."""
    last_seen = select(Conversation.citizen_id).where(
        or_(
            Conversation.last_inbound_at >= cutoff,
            and_(Conversation.last_inbound_at.is_(None), Conversation.created_at >= cutoff),
        )
    )
    result = await session.execute(
        update(Citizen)
        .where(
            Citizen.display_name.is_not(None),
            Citizen.created_at < cutoff,
            Citizen.id.not_in(last_seen),
            Citizen.id.not_in(_protected_citizen_ids()),
        )
        .values(display_name=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def redact_closed_complaints(session: AsyncSession, cutoff: dt.datetime) -> int:
    """Descriptions of complaint cases closed before ``cutoff`` (outside open conversations)."""
    result = await session.execute(
        update(ComplaintCase)
        .where(
            ComplaintCase.status == CaseStatus.CLOSED,
            ComplaintCase.description.is_not(None),
            ComplaintCase.closed_at < cutoff,
            ComplaintCase.conversation_id.not_in(open_conversation_ids()),
        )
        .values(description=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def clear_finished_work(session: AsyncSession, cutoff: dt.datetime) -> int:
    """Payloads (they repeat the message text) of work finished before ``cutoff``."""
    result = await session.execute(
        update(WorkItem)
        .where(
            WorkItem.status == WorkStatus.DONE,
            WorkItem.received_at < cutoff,
            _not_redacted(WorkItem.payload),
            or_(WorkItem.conversation_id.is_(None), WorkItem.conversation_id.not_in(open_conversation_ids())),
        )
        .values(payload=REDACTED_PAYLOAD)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def add_audit(session: AsyncSession, action: str, target: str | None, detail: dict[str, Any]) -> None:
    """An audit record of a duty carried out by the system (no officer)."""
    session.add(AuditRecord(officer_id=None, action=action, target=target, detail=detail))


# ---- one citizen (data-subject requests) -------------------------------------------------------
async def citizen_by_user(session: AsyncSession, channel: str, user_id: str) -> Citizen | None:
    found: Citizen | None = await session.scalar(
        select(Citizen).where(Citizen.channel == channel, Citizen.external_id == user_id)
    )
    return found


async def conversation_of(session: AsyncSession, citizen_id: str) -> Conversation | None:
    found: Conversation | None = await session.scalar(
        select(Conversation).where(Conversation.citizen_id == citizen_id)
    )
    return found


async def messages_of(session: AsyncSession, conversation_id: str) -> Sequence[Message]:
    rows = await session.scalars(
        select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
    )
    return rows.all()


async def escalations_of(session: AsyncSession, conversation_id: str) -> Sequence[Escalation]:
    rows = await session.scalars(
        select(Escalation)
        .where(Escalation.conversation_id == conversation_id)
        .order_by(Escalation.created_at)
    )
    return rows.all()


async def complaints_of(session: AsyncSession, citizen_id: str) -> Sequence[ComplaintCase]:
    rows = await session.scalars(
        select(ComplaintCase).where(ComplaintCase.citizen_id == citizen_id).order_by(ComplaintCase.created_at)
    )
    return rows.all()


async def notes_of(session: AsyncSession, conversation_id: str) -> Sequence[ConversationNote]:
    rows = await session.scalars(
        select(ConversationNote)
        .where(ConversationNote.conversation_id == conversation_id)
        .order_by(ConversationNote.created_at)
    )
    return rows.all()


async def unfinished_work(session: AsyncSession, conversation_id: str) -> int:
    rows = await session.scalars(
        select(WorkItem.id).where(
            WorkItem.conversation_id == conversation_id, WorkItem.status != WorkStatus.DONE
        )
    )
    return len(rows.all())


async def clear_work_of(session: AsyncSession, conversation_id: str) -> int:
    """Redact the conversation's work items: their payloads, and the platform ids in their keys."""
    result = await session.execute(
        update(WorkItem)
        .where(WorkItem.conversation_id == conversation_id, _not_redacted(WorkItem.payload))
        .values(payload=REDACTED_PAYLOAD)
        .execution_options(synchronize_session=False)
    )
    # the key held the user's and the message's platform ids; the row's own id keeps it unique
    await session.execute(
        update(WorkItem)
        .where(WorkItem.conversation_id == conversation_id)
        .values(dedupe_key=literal("erased:") + cast(WorkItem.id, String))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
