"""What officers do with complaint cases: list, open, change the status (audited, told to the citizen).

A case is found by its own row, never through its conversation's state: cancelling, transferring
or resolving the conversation changes nothing here. Another department's case is "not found".
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.complaints import notifications
from app.complaints.history import ComplaintUpdate, NoticeState
from app.complaints.models import CaseStatus, ComplaintCase
from app.complaints.schemas import (
    SUMMARY_CODE_POINTS,
    ComplaintDetail,
    ComplaintSummary,
    HistoryEntry,
    Notice,
)
from app.complaints.service import case_event, complaints_topic, find_number, set_status
from app.conversations.models import Conversation, DeliveryStatus, Message
from app.db.schema import utcnow
from app.officers import access, events
from app.officers.desk import OfficerDesk
from app.officers.errors import Conflict, NotFound
from app.officers.models import Officer
from app.officers.repository import add_audit

LIST_LIMIT = 500  # newest first; older cases are found by number or text
FILED_BY = "citizen"
NOT_FOUND = "no such complaint case in your departments"


def _summary(case: ComplaintCase) -> ComplaintSummary:
    return ComplaintSummary(
        number=case.number,
        department=case.department,
        channel=case.channel,
        status=CaseStatus(case.status),
        summary=(case.description or "")[:SUMMARY_CODE_POINTS],
        created_at=case.created_at,
        updated_at=case.updated_at,
        conversation_id=case.conversation_id,
    )


def _in_scope(query: Select[ComplaintCase], officer: Officer) -> Select[ComplaintCase]:
    scope = access.department_scope(officer)
    return query if scope is None else query.where(ComplaintCase.department.in_(sorted(scope)))


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def list_cases(
    session: AsyncSession, officer: Officer, status: CaseStatus | None, q: str | None
) -> list[ComplaintSummary]:
    query = _in_scope(select(ComplaintCase), officer)
    if status is not None:
        query = query.where(ComplaintCase.status == status)
    text = (q or "").strip()
    if text:
        matches: list[ColumnElement[bool]] = [
            ComplaintCase.number.ilike(_like(text), escape="\\"),
            ComplaintCase.description.ilike(_like(text), escape="\\"),
        ]
        if (number := find_number(text)) is not None:  # "cmp 2569 12", Thai digits
            matches.append(ComplaintCase.number == number)
        query = query.where(or_(*matches))
    query = query.order_by(ComplaintCase.created_at.desc(), ComplaintCase.number.desc()).limit(LIST_LIMIT)
    return [_summary(case) for case in (await session.scalars(query)).all()]


def _case_query(officer: Officer, number: str) -> Select[ComplaintCase]:
    normalised = find_number(number)
    if normalised is None:
        raise NotFound(NOT_FOUND)
    return _in_scope(select(ComplaintCase).where(ComplaintCase.number == normalised), officer)


async def _case_in_scope(session: AsyncSession, officer: Officer, number: str) -> ComplaintCase:
    case = await session.scalar(_case_query(officer, number))
    if case is None:
        raise NotFound(NOT_FOUND)
    return case


async def case_detail(session: AsyncSession, officer: Officer, number: str) -> ComplaintDetail:
    case = await _case_in_scope(session, officer, number)
    rows = (
        await session.execute(
            select(ComplaintUpdate, Message)
            .outerjoin(Message, Message.id == ComplaintUpdate.message_id)
            .where(ComplaintUpdate.case_id == case.id)
            .order_by(ComplaintUpdate.at, ComplaintUpdate.id)
        )
    ).all()
    filing = HistoryEntry(status=CaseStatus.RECEIVED, note="", by=FILED_BY, at=case.created_at)
    changes = [
        HistoryEntry(
            status=CaseStatus(update.status),
            note=update.note,
            by=update.officer_username,
            at=update.at,
            notice=_notice(update, message),
        )
        for update, message in rows
    ]
    return ComplaintDetail(
        **_summary(case).model_dump(), description=case.description or "", history=[filing, *changes]
    )


def _notice(update: ComplaintUpdate, message: Message | None) -> Notice:
    if update.notice_state == NoticeState.HELD or message is None:
        return Notice(state="held", reason=update.notice_reason)
    if message.delivery_status == DeliveryStatus.SENT:
        return Notice(state="sent")
    if message.delivery_status == DeliveryStatus.FAILED:
        return Notice(state="failed", reason=message.delivery_error)
    return Notice(state="pending")


async def change_status(
    desk: OfficerDesk, officer: Officer, number: str, status: CaseStatus, note: str
) -> ComplaintCase:
    """Record the change, audit it and queue (or hold) the citizen's copy, in one unit of work."""
    now = utcnow()

    def unit(session: Session) -> tuple[ComplaintCase, Message | None]:
        case = session.scalar(_case_query(officer, number).with_for_update())
        if case is None:
            raise NotFound(NOT_FOUND)
        if case.status == status and not note:
            raise Conflict("the case already has this status; add a note to send an update")
        conversation = session.get(Conversation, case.conversation_id)
        assert conversation is not None  # a case goes with its conversation (ON DELETE CASCADE)
        previous = case.status
        message = _record(session, case, conversation, officer, status, note, now)
        add_audit(
            session,
            officer.id,
            "case_status",
            case.number,
            {"from": previous, "to": status.value, "note": note, "notice": _audit_notice(message)},
        )
        session.flush()
        return case, message

    case, message = await desk.transactions.run(unit)
    await _publish(desk, case, message)
    return case


def _record(
    session: Session,
    case: ComplaintCase,
    conversation: Conversation,
    officer: Officer,
    status: CaseStatus,
    note: str,
    now: dt.datetime,
) -> Message | None:
    set_status(case, status, now)
    update = ComplaintUpdate(
        case_id=case.id,
        status=status,
        note=note,
        officer_id=officer.id,
        officer_username=officer.username,
        at=now,
        notice_state=NoticeState.QUEUED,
    )
    session.add(update)
    return notifications.queue_update(session, case, conversation, update, officer.id, now)


def _audit_notice(message: Message | None) -> str:
    return "held" if message is None else f"message {message.id}"


async def _publish(desk: OfficerDesk, case: ComplaintCase, message: Message | None) -> None:
    """After commit: the citizen's copy to the outbox and web chat, the change to consoles."""
    if message is not None:
        desk.wake_delivery()
        await events.publish_messages(desk.bus, [message])
    await desk.bus.publish(complaints_topic(case.department), case_event("complaint_changed", case))
