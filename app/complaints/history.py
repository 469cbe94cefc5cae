"""A complaint case's status changes, and how each one reached (or waits to reach) the citizen."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.schema import Base, UtcDateTime, new_id, utcnow


class NoticeState(StrEnum):
    QUEUED = "queued"  # in the outbox (``message_id``); its delivery status says the rest
    HELD = "held"  # the channel's rules do not allow it now; sent after the citizen's next message
    RELEASED = "released"  # was held, queued when the citizen wrote again (``message_id``)


class ComplaintUpdate(Base):
    """One status change by an officer. The filing itself is the case row (``created_at``)."""

    __tablename__ = "complaint_updates"
    __table_args__ = (Index("ix_complaint_updates_case_id_at", "case_id", "at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("complaint_cases.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    officer_id: Mapped[str | None] = mapped_column(ForeignKey("officers.id", ondelete="SET NULL"))
    # Kept as written: the history still names who acted after the officer is renamed or removed.
    officer_username: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    notice_state: Mapped[str] = mapped_column(String(16), index=True)
    notice_reason: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
