"""SQL for the knowledge base's entries, versions and changes."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.schema import utcnow
from app.kb.models import ChangeStatus, EntryStatus, KbChange, KbEntry, KbEntryVersion

MAX_CHANGES_LISTED = 500


async def count_entries(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(KbEntry)) or 0)


async def published_state(session: AsyncSession) -> tuple[int, int]:
    """Changes whenever any entry is published: the number of entries and the sum of their versions."""
    row = (await session.execute(select(func.count(), func.coalesce(func.sum(KbEntry.version), 0)))).one()
    return int(row[0]), int(row[1])


async def all_entries(session: AsyncSession, departments: Collection[str] | None = None) -> Sequence[KbEntry]:
    """Every entry (retired ones too) in the order of the department files: department, then position."""
    stmt = select(KbEntry).order_by(KbEntry.department, KbEntry.position, KbEntry.id)
    if departments is not None:
        stmt = stmt.where(KbEntry.department.in_(departments))
    return (await session.scalars(stmt)).all()


async def published_entries(session: AsyncSession) -> Sequence[KbEntry]:
    stmt = (
        select(KbEntry)
        .where(KbEntry.status == EntryStatus.PUBLISHED)
        .order_by(KbEntry.department, KbEntry.position, KbEntry.id)
    )
    return (await session.scalars(stmt)).all()


async def get_entry(session: AsyncSession, entry_id: str) -> KbEntry | None:
    return await session.get(KbEntry, entry_id)


async def next_position(session: AsyncSession, department: str) -> int:
    highest = await session.scalar(select(func.max(KbEntry.position)).where(KbEntry.department == department))
    return (highest or 0) + 1


def add_entry(
    session: AsyncSession, entry_id: str, department: str, status: str, fields: dict[str, Any], position: int
) -> KbEntry:
    row = KbEntry(
        id=entry_id,
        department=department,
        status=status,
        version=1,
        position=position,
        fields=fields,
        updated_at=utcnow(),
    )
    session.add(row)
    return row


async def advance_entry(
    session: AsyncSession,
    entry_id: str,
    from_version: int,
    *,
    department: str,
    status: str,
    fields: dict[str, Any],
    position: int,
) -> bool:
    """Publish the next version, only when the entry is still at ``from_version`` (else False: someone was first)."""
    result = await session.execute(
        update(KbEntry)
        .where(KbEntry.id == entry_id, KbEntry.version == from_version)
        .values(
            version=from_version + 1,
            department=department,
            status=status,
            fields=fields,
            position=position,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def add_version(session: AsyncSession, **values: Any) -> KbEntryVersion:
    row = KbEntryVersion(**values)
    session.add(row)
    return row


async def versions_of(session: AsyncSession, entry_id: str) -> Sequence[KbEntryVersion]:
    stmt = select(KbEntryVersion).where(KbEntryVersion.entry_id == entry_id).order_by(KbEntryVersion.version)
    return (await session.scalars(stmt)).all()


async def get_version(session: AsyncSession, entry_id: str, version: int) -> KbEntryVersion | None:
    stmt = select(KbEntryVersion).where(
        KbEntryVersion.entry_id == entry_id, KbEntryVersion.version == version
    )
    row: KbEntryVersion | None = await session.scalar(stmt)
    return row


async def pending_counts(session: AsyncSession) -> dict[str, int]:
    stmt = (
        select(KbChange.entry_id, func.count())
        .where(KbChange.status == ChangeStatus.PENDING_REVIEW)
        .group_by(KbChange.entry_id)
    )
    return {entry_id: int(count) for entry_id, count in (await session.execute(stmt)).all()}


async def get_change(session: AsyncSession, change_id: str) -> KbChange | None:
    return await session.get(KbChange, change_id)


async def list_changes(
    session: AsyncSession,
    departments: Collection[str] | None,
    status: str | None = None,
    entry_id: str | None = None,
) -> Sequence[KbChange]:
    stmt = select(KbChange).order_by(KbChange.created_at.desc(), KbChange.id.desc()).limit(MAX_CHANGES_LISTED)
    if departments is not None:
        stmt = stmt.where(KbChange.department.in_(departments))
    if status is not None:
        stmt = stmt.where(KbChange.status == status)
    if entry_id is not None:
        stmt = stmt.where(KbChange.entry_id == entry_id)
    return (await session.scalars(stmt)).all()


async def close_change(session: AsyncSession, change_id: str, status: str, **values: Any) -> bool:
    """Move a pending change on, only if it is still pending (a concurrent review got there first: False)."""
    result = await session.execute(
        update(KbChange)
        .where(KbChange.id == change_id, KbChange.status == ChangeStatus.PENDING_REVIEW)
        .values(status=status, reviewed_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)
