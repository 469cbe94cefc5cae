"""Citizens, conversations, messages and the durable work queue."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from app.db.schema import Base, UtcDateTime, new_id, utcnow
from channels.base import ReplyContext

# BigInteger ids that are still SQLite's rowid (INTEGER PRIMARY KEY) there.
SerialId = BigInteger().with_variant(Integer(), "sqlite")


class ReplyContextJson(TypeDecorator[ReplyContext]):
    """A channel's reply context as JSON, ``{"token": ..., "expires_at": ISO 8601 in UTC}``; none is SQL NULL."""

    impl = JSON(none_as_null=True)
    cache_ok = True

    def process_bind_param(self, value: ReplyContext | None, dialect: Any) -> dict[str, str] | None:
        if value is None:
            return None
        expires_at = value.expires_at.astimezone(dt.UTC).isoformat(timespec="microseconds")
        return {"token": value.token, "expires_at": expires_at}

    def process_result_value(self, value: dict[str, str] | None, dialect: Any) -> ReplyContext | None:
        if value is None:
            return None
        return ReplyContext(value["token"], dt.datetime.fromisoformat(value["expires_at"]))


class ConversationState(StrEnum):
    BOT = "bot"
    WAITING = "waiting"  # escalated, waiting for an officer
    WITH_OFFICER = "with_officer"


class Sender(StrEnum):
    CITIZEN = "citizen"
    BOT = "bot"
    OFFICER = "officer"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class WorkStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"  # handling kept crashing: kept, with its error, for officers and logs


class Citizen(Base):
    __tablename__ = "citizens"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    unreachable_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class Conversation(Base):
    """One per citizen; its state machine is bot -> waiting -> with_officer -> bot."""

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    citizen_id: Mapped[str] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default=ConversationState.BOT)
    department: Mapped[str | None] = mapped_column(String(64))
    escalation_reason: Mapped[str | None] = mapped_column(String(32))
    assigned_to: Mapped[str | None] = mapped_column(ForeignKey("officers.id", ondelete="SET NULL"))
    waiting_since: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    fallback_streak: Mapped[int] = mapped_column(Integer, default=0)
    clarify_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    awaiting: Mapped[str | None] = mapped_column(String(32))  # a multi-step flow's next expected input
    last_inbound_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # Routing by topic: the entry last answered or clarified (and when), the entry the current
    # escalation was routed by, and the citizen's last message that was more than a request for
    # a person -- kept here so that a queue row needs no transcript. The question is the message's
    # id, not a copy of its text: redacting or unsending the message empties the row too.
    recent_faq_id: Mapped[str | None] = mapped_column(String(64))
    recent_faq_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    topic_faq_id: Mapped[str | None] = mapped_column(String(64))
    question_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # Wrong case PINs typed in this conversation (guesses are limited per conversation).
    pin_failures: Mapped[int] = mapped_column(Integer, default=0)
    pin_failed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Message(Base):
    """A message in or out. Outbound rows are also the delivery outbox."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "client_message_id"),
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
        Index("ix_messages_delivery", "delivery_status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    sender: Mapped[str] = mapped_column(String(16))
    officer_id: Mapped[str | None] = mapped_column(ForeignKey("officers.id", ondelete="SET NULL"))
    text: Mapped[str | None] = mapped_column(Text)
    quick_replies: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Rich parts: {"faq": {...}} for answers, {"attachments": [...]} for what a citizen sent.
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    nlu: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    client_message_id: Mapped[str | None] = mapped_column(String(128))
    external_id: Mapped[str | None] = mapped_column(String(128), index=True)
    in_reply_to: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    delivery_status: Mapped[str | None] = mapped_column(String(16))
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivered_via: Mapped[str | None] = mapped_column(String(16))
    delivery_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    delivery_lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    delivery_locked_by: Mapped[str | None] = mapped_column(String(64))
    # How the channel may answer the event this answers (LINE's reply token), while it lasts.
    reply_context: Mapped[ReplyContext | None] = mapped_column(ReplyContextJson)


class WorkItem(Base):
    """An accepted inbound event, queued until a worker has fully handled it.

    ``(channel, dedupe_key)`` is unique, so a redelivered event is stored and processed once.
    Items of one conversation are handled strictly in ``id`` order.
    """

    __tablename__ = "work_items"
    __table_args__ = (
        UniqueConstraint("channel", "dedupe_key"),
        Index("ix_work_items_status_id", "status", "id"),
        Index("ix_work_items_conversation_id_status", "conversation_id", "status"),
    )

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    dedupe_key: Mapped[str] = mapped_column(String(256))
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    event_type: Mapped[str] = mapped_column(String(64), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=WorkStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class Escalation(Base):
    """One hand-over to the officer queue, from escalation to resolution."""

    __tablename__ = "escalations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    department: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))
    topic_faq_id: Mapped[str | None] = mapped_column(String(64))  # the entry routing used
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    claimed_by: Mapped[str | None] = mapped_column(ForeignKey("officers.id", ondelete="SET NULL"))
    first_reply_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    rating: Mapped[int | None] = mapped_column(Integer)
