"""SQL for complaint cases. No business rules here."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.complaints.models import CaseStatus, ComplaintCase, ComplaintCounter


def next_sequence(session: Session, year: int) -> int:
    """The year's next number, in one atomic statement on both databases.

    ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` takes the counter row's lock
    (PostgreSQL) or the write lock (SQLite) until the caller's transaction ends, so two
    concurrent cases never get the same number and a rolled-back case frees its number.
    """
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(ComplaintCounter)
    stmt = (
        insert.values(year=year, last_sequence=1)
        .on_conflict_do_update(
            index_elements=[ComplaintCounter.year],
            set_={"last_sequence": ComplaintCounter.last_sequence + 1},
        )
        .returning(ComplaintCounter.last_sequence)
    )
    return int(session.execute(stmt).scalar_one())


def find_by_number(session: Session, number: str) -> ComplaintCase | None:
    return session.scalar(select(ComplaintCase).where(ComplaintCase.number == number))


def open_cases_of_conversation(session: Session, conversation_id: str) -> Sequence[ComplaintCase]:
    """The conversation's cases not yet closed, newest first."""
    return session.scalars(
        select(ComplaintCase)
        .where(ComplaintCase.conversation_id == conversation_id, ComplaintCase.status != CaseStatus.CLOSED)
        .order_by(ComplaintCase.created_at.desc())
    ).all()


async def cases_of_conversation(session: AsyncSession, conversation_id: str) -> Sequence[ComplaintCase]:
    return (
        await session.scalars(
            select(ComplaintCase)
            .where(ComplaintCase.conversation_id == conversation_id)
            .order_by(ComplaintCase.created_at)
        )
    ).all()
