"""State changes of a conversation and the outbound messages they produce.

Shared by the bot pipeline and the officer queue: escalate, cancel, hand back, and
``add_outbound`` which queues a message for delivery through the citizen's channel (the bot
pipeline stores its replies in bulk: ``new_outbound``, ``transcript.insert_outbound``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any, TypedDict, Unpack

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.conversations import queue_counts
from app.conversations.models import (
    Conversation,
    ConversationState,
    DeliveryStatus,
    Escalation,
    Message,
    Sender,
)
from app.db.schema import utcnow
from channels.base import ReplyContext


class OutboundOptions(TypedDict, total=False):
    sender: Sender  # default: the bot
    quick_replies: list[str] | None
    extra: dict[str, Any] | None
    officer_id: str | None
    in_reply_to: int | None
    reply_token: str | None  # of the event answered: stored as the message's reply context
    reply_token_expires_at: dt.datetime | None


def add_outbound(
    session: AsyncSession, conversation: Conversation, text: str, **options: Unpack[OutboundOptions]
) -> Message:
    """Queue a message for delivery (in the session: stored with its next flush)."""
    message = new_outbound(conversation, text, **options)
    session.add(message)
    return message


def new_outbound(conversation: Conversation, text: str, **options: Unpack[OutboundOptions]) -> Message:
    """An outbound message, pending delivery, not yet stored anywhere."""
    now = utcnow()
    return Message(
        conversation_id=conversation.id,
        direction="out",
        sender=options.get("sender", Sender.BOT),
        officer_id=options.get("officer_id"),
        text=text,
        quick_replies=options.get("quick_replies") or [],
        extra=options.get("extra") or {},
        nlu=None,
        client_message_id=None,
        external_id=None,
        in_reply_to=options.get("in_reply_to"),
        created_at=now,
        delivery_status=DeliveryStatus.PENDING,
        delivery_attempts=0,
        delivered_via=None,
        delivery_error=None,
        next_attempt_at=now,
        delivery_lease_until=None,
        delivery_locked_by=None,
        reply_context=_reply_context(options.get("reply_token"), options.get("reply_token_expires_at")),
    )


def _reply_context(token: str | None, expires_at: dt.datetime | None) -> ReplyContext | None:
    """The answered event's reply context; a token without an expiry is never used (unknown life)."""
    return ReplyContext(token, expires_at) if token and expires_at is not None else None


async def message_texts(session: AsyncSession, message_ids: Collection[int | None]) -> dict[int, str | None]:
    """The texts of these messages, by id, in one query (e.g. the questions of a queue page)."""
    wanted = {i for i in message_ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(select(Message.id, Message.text).where(Message.id.in_(wanted)))
    return {message_id: text for message_id, text in rows.all()}


def open_escalation(session: Session, conversation: Conversation) -> Escalation | None:
    return session.scalar(
        select(Escalation)
        .where(Escalation.conversation_id == conversation.id, Escalation.resolved_at.is_(None))
        .order_by(Escalation.created_at.desc())
        .limit(1)
    )


def escalate(
    session: Session, conversation: Conversation, department: str, reason: str, topic: str | None = None
) -> int:
    """Put the conversation in its department's queue; returns the citizen's position.

    ``topic`` is the knowledge-base entry the department was chosen by, if any.
    """
    if conversation.state == ConversationState.BOT:
        now = utcnow()
        conversation.state = ConversationState.WAITING
        conversation.department = department
        conversation.escalation_reason = reason
        conversation.topic_faq_id = topic
        conversation.waiting_since = now
        conversation.assigned_to = None
        session.add(
            Escalation(
                conversation_id=conversation.id,
                department=department,
                reason=reason,
                topic_faq_id=topic,
                created_at=now,
            )
        )
        session.flush()
    if conversation.state != ConversationState.WAITING:
        return 0
    return queue_counts.waiting_position(session, conversation)


def hand_back_to_bot(session: Session, conversation: Conversation) -> Escalation | None:
    """Cancelled by the citizen or resolved by an officer: the bot answers again.

    Complaint cases filed in the conversation are not touched: they have their own lifecycle.
    """
    escalation = open_escalation(session, conversation)
    if escalation is not None:
        escalation.resolved_at = utcnow()
    conversation.state = ConversationState.BOT
    conversation.assigned_to = None
    conversation.waiting_since = None
    conversation.escalation_reason = None
    conversation.topic_faq_id = None
    conversation.fallback_streak = 0
    conversation.clarify_pending = False
    return escalation
