"""The published knowledge base, every version of each entry, and the changes waiting for review.

An entry's content is kept as the JSON of ``knowledge_base.schema.FaqEntry`` (without its id): the
schema stays in one place, and the boundary (``app/kb/fields.py``) types it on the way in and out.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.schema import Base, UtcDateTime, new_id, utcnow


class EntryStatus(StrEnum):
    PUBLISHED = "published"
    RETIRED = "retired"


class ChangeStatus(StrEnum):
    PENDING_REVIEW = "pending_review"
    PUBLISHED = "published"
    REJECTED = "rejected"


class KbEntry(Base):
    """An entry as citizens are answered from it now (or retired: kept, not answered)."""

    __tablename__ = "kb_entries"
    __table_args__ = (Index("ix_kb_entries_department_position", "department", "position"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    department: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=EntryStatus.PUBLISHED)
    version: Mapped[int] = mapped_column(Integer)
    # Order within its department, as the entries were written in the department's YAML file:
    # an export writes them back in the same order.
    position: Mapped[int] = mapped_column(Integer)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class KbEntryVersion(Base):
    """Every version ever published, with who wrote and who approved it."""

    __tablename__ = "kb_entry_versions"
    __table_args__ = (UniqueConstraint("entry_id", "version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    entry_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    # usernames as they were ("seed", "import" for versions no officer wrote)
    author: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[str | None] = mapped_column(ForeignKey("officers.id", ondelete="SET NULL"))
    approved_by: Mapped[str] = mapped_column(String(64))
    approver_id: Mapped[str | None] = mapped_column(ForeignKey("officers.id", ondelete="SET NULL"))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    change_id: Mapped[str | None] = mapped_column(String(32))


class KbChange(Base):
    """A proposed change of one entry (or a new entry), waiting for a second person's review."""

    __tablename__ = "kb_changes"
    __table_args__ = (
        Index("ix_kb_changes_status_created_at", "status", "created_at"),
        Index("ix_kb_changes_entry_id_created_at", "entry_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    entry_id: Mapped[str] = mapped_column(String(64))
    department: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=ChangeStatus.PENDING_REVIEW)
    is_new_entry: Mapped[bool] = mapped_column(Boolean, default=False)
    # The entry's version the author started from (0 for a new entry): approving after the entry
    # moved on would silently undo the other change.
    base_version: Mapped[int] = mapped_column(Integer, default=0)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)  # only the fields the change sets
    author_id: Mapped[str | None] = mapped_column(ForeignKey("officers.id", ondelete="SET NULL"))
    author_username: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    reviewer_id: Mapped[str | None] = mapped_column(ForeignKey("officers.id", ondelete="SET NULL"))
    reviewer_username: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    published_version: Mapped[int | None] = mapped_column(Integer)
