"""SQL for officers, the queue, escalations, notes, the audit log and login failures. No rules here.

What officer actions change runs in their units of work (``app.db.Transactions``, as the
workers' changes) and takes a sync ``Session``. The console's reads take an ``AsyncSession``: on
SQLite a unit waits for any other connection's write lock, a read in an async session never does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Select, delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.conversations.models import Citizen, Conversation, ConversationState, Escalation, Message, Sender
from app.db.schema import utcnow
from app.officers.models import AuditRecord, ConversationNote, LoginFailure, Officer


# ---- officers ---------------------------------------------------------------------------------
def officer_by_username(session: Session, username: str) -> Officer | None:
    return session.scalar(select(Officer).where(Officer.username == username))


async def officer_by_id(session: AsyncSession, officer_id: str) -> Officer | None:
    return await session.get(Officer, officer_id)


async def list_officers(session: AsyncSession) -> Sequence[Officer]:
    return (await session.scalars(select(Officer).order_by(Officer.username))).all()


async def usernames(session: AsyncSession, officer_ids: Collection[str]) -> dict[str, str]:
    if not officer_ids:
        return {}
    rows = await session.execute(select(Officer.id, Officer.username).where(Officer.id.in_(officer_ids)))
    return {officer_id: username for officer_id, username in rows.all()}


# ---- conversations ----------------------------------------------------------------------------
def lock_conversation(session: Session, conversation_id: str) -> Conversation | None:
    """The conversation, locked for the rest of the transaction.

    The ``UPDATE`` comes first: on PostgreSQL it takes the row lock (the pipeline's
    ``SELECT ... FOR UPDATE`` waits for us, and we for it); on SQLite it takes the write lock
    before anything is read, so what we read cannot change before we commit.
    """
    session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return session.scalar(
        select(Conversation)
        .where(Conversation.id == conversation_id)
        .execution_options(populate_existing=True)
    )


async def get_conversation(session: AsyncSession, conversation_id: str) -> Conversation | None:
    return await session.get(Conversation, conversation_id)


async def get_citizen(session: AsyncSession, citizen_id: str) -> Citizen | None:
    return await session.get(Citizen, citizen_id)


def _last_citizen_text() -> Any:
    return (
        select(Message.text)
        .where(Message.conversation_id == Conversation.id, Message.sender == Sender.CITIZEN)
        .order_by(Message.id.desc())
        .limit(1)
        .correlate(Conversation)
        .scalar_subquery()
    )


async def waiting_conversations(
    session: AsyncSession, departments: Collection[str] | None
) -> list[tuple[Conversation, str | None]]:
    """Escalated, unclaimed conversations (of ``departments``; ``None``: all), oldest first."""
    stmt = select(Conversation, _last_citizen_text()).where(
        Conversation.state == ConversationState.WAITING, Conversation.assigned_to.is_(None)
    )
    if departments is not None:
        stmt = stmt.where(Conversation.department.in_(departments))
    stmt = stmt.order_by(Conversation.waiting_since, Conversation.id)
    return [(conversation, text) for conversation, text in (await session.execute(stmt)).all()]


async def active_conversations(
    session: AsyncSession, departments: Collection[str] | None, assigned_to: str | None
) -> list[tuple[Conversation, str | None]]:
    """Conversations officers hold (only ``assigned_to``'s when given), longest held first."""
    stmt = select(Conversation, _last_citizen_text()).where(
        Conversation.state == ConversationState.WITH_OFFICER
    )
    if departments is not None:
        stmt = stmt.where(Conversation.department.in_(departments))
    if assigned_to is not None:
        stmt = stmt.where(Conversation.assigned_to == assigned_to)
    stmt = stmt.order_by(Conversation.waiting_since, Conversation.id)
    return [(conversation, text) for conversation, text in (await session.execute(stmt)).all()]


MAX_MESSAGE_ID = 2**63 - 1  # the largest id either database can hold (BIGINT)


def _message_query(conversation_id: str, message_id: int) -> Select[Message] | None:
    if not 0 < message_id <= MAX_MESSAGE_ID:  # a larger number is no message (SQLite would overflow)
        return None
    return select(Message).where(Message.id == message_id, Message.conversation_id == conversation_id)


async def get_message(session: AsyncSession, conversation_id: str, message_id: int) -> Message | None:
    query = _message_query(conversation_id, message_id)
    return None if query is None else await session.scalar(query)


def message_of(session: Session, conversation_id: str, message_id: int) -> Message | None:
    query = _message_query(conversation_id, message_id)
    return None if query is None else session.scalar(query)


# ---- escalations ------------------------------------------------------------------------------
async def latest_escalation(session: AsyncSession, conversation_id: str) -> Escalation | None:
    return await session.scalar(
        select(Escalation)
        .where(Escalation.conversation_id == conversation_id)
        .order_by(Escalation.created_at.desc(), Escalation.id.desc())
        .limit(1)
    )


def latest_unrated_escalation(session: Session, conversation_id: str) -> Escalation | None:
    """The last resolved hand-over, if the citizen has not rated it yet."""
    latest = session.scalar(
        select(Escalation)
        .where(Escalation.conversation_id == conversation_id, Escalation.resolved_at.is_not(None))
        .order_by(Escalation.resolved_at.desc())
        .limit(1)
    )
    return latest if latest is not None and latest.rating is None else None


# ---- notes ------------------------------------------------------------------------------------
async def notes_of(session: AsyncSession, conversation_id: str) -> Sequence[ConversationNote]:
    return (
        await session.scalars(
            select(ConversationNote)
            .where(ConversationNote.conversation_id == conversation_id)
            .order_by(ConversationNote.created_at, ConversationNote.id)
        )
    ).all()


# ---- audit ------------------------------------------------------------------------------------
def add_audit(
    session: Session | AsyncSession,
    officer_id: str | None,
    action: str,
    target: str | None,
    detail: dict[str, Any] | None = None,
) -> AuditRecord:
    record = AuditRecord(
        officer_id=officer_id, action=action, target=target, detail=detail or {}, created_at=utcnow()
    )
    session.add(record)
    return record


async def audit_records(
    session: AsyncSession,
    *,
    limit: int,
    action: str | None = None,
    officer_id: str | None = None,
    target: str | None = None,
) -> Sequence[AuditRecord]:
    stmt = select(AuditRecord)
    if action is not None:
        stmt = stmt.where(AuditRecord.action == action)
    if officer_id is not None:
        stmt = stmt.where(AuditRecord.officer_id == officer_id)
    if target is not None:
        stmt = stmt.where(AuditRecord.target == target)
    stmt = stmt.order_by(AuditRecord.created_at.desc(), AuditRecord.id.desc()).limit(limit)
    return (await session.scalars(stmt)).all()


# ---- login failures ---------------------------------------------------------------------------
def lock_login(session: Session, username: str, address: str) -> None:
    """Serialise login attempts on one username or address until the transaction ends.

    PostgreSQL: transaction-level advisory locks, taken in one order (no deadlock). SQLite: the
    ``DELETE`` that follows is the transaction's first write, and takes the database's one write
    lock before anything is counted.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted((f"login-user:{username}", f"login-address:{address}")):
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})


def failure_times(
    session: Session, since: dt.datetime, *, username: str | None = None, address: str | None = None
) -> Sequence[dt.datetime]:
    """When logins failed since ``since`` for ``username`` (from any address) or from ``address``
    (any username), oldest first."""
    column, value = (
        (LoginFailure.username, username) if username is not None else (LoginFailure.address, address)
    )
    return session.scalars(
        select(LoginFailure.created_at)
        .where(column == value, LoginFailure.created_at >= since)
        .order_by(LoginFailure.created_at)
    ).all()


def add_failure(session: Session, username: str, address: str, now: dt.datetime) -> str:
    failure = LoginFailure(username=username[:64], address=address[:64], created_at=now)
    session.add(failure)
    session.flush()
    return failure.id


def clear_failures(session: Session, username: str, address: str, attempt_id: str) -> None:
    """After a successful login: its own attempt, and the username's failures from that address."""
    session.execute(
        delete(LoginFailure).where(
            (LoginFailure.id == attempt_id)
            | ((LoginFailure.username == username) & (LoginFailure.address == address))
        )
    )


def forget_failures_before(session: Session, before: dt.datetime) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.created_at < before))
