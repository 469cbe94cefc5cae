"""Storing and reading a conversation's messages, in and out (outbound rows are the outbox too)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.conversations.models import Message
from app.db.statements import execute_per_row

_NEW_MESSAGES = insert(Message).returning(Message.id, Message.conversation_id)


def insert_messages(session: Session, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert transcript messages (rows with the same keys); their ids, in the order given.

    Each statement takes at most one row per conversation, so that its ``RETURNING`` rows map
    back by conversation (asking the database to keep the order would cost one statement per
    row on SQLite). A citizen rarely has two messages in one batch: usually one statement.
    """
    ids: list[int] = [0] * len(rows)
    left = list(range(len(rows)))
    while left:
        now: dict[str, int] = {}
        later: list[int] = []
        for index in left:
            conversation_id = rows[index]["conversation_id"]
            if conversation_id in now:
                later.append(index)
            else:
                now[conversation_id] = index
        added = execute_per_row(session, _NEW_MESSAGES, [rows[i] for i in now.values()])
        for message_id, conversation_id in added:
            ids[now[conversation_id]] = message_id
        left = later
    return ids


_OUTBOUND_COLUMNS = [c.key for c in Message.__table__.columns if c.key != "id"]


def insert_outbound(session: Session, messages: Sequence[Message]) -> None:
    """Store new outbound messages (built with ``service.new_outbound``) in bulk; sets their ids."""
    rows = [{key: getattr(m, key) for key in _OUTBOUND_COLUMNS} for m in messages]
    for message, message_id in zip(messages, insert_messages(session, rows), strict=True):
        message.id = message_id


async def list_messages(
    session: AsyncSession, conversation_id: str, after_id: int | None = None
) -> Sequence[Message]:
    stmt = select(Message).where(Message.conversation_id == conversation_id)
    if after_id is not None:
        stmt = stmt.where(Message.id > after_id)
    return (await session.scalars(stmt.order_by(Message.id))).all()


_MESSAGES_BY_ID = select(Message).where(Message.id.in_(bindparam("ids", expanding=True)))


def messages_by_id(session: Session, message_ids: Sequence[int]) -> dict[int, Message]:
    return {m.id: m for m in session.scalars(_MESSAGES_BY_ID, {"ids": list(message_ids)})}
