"""The queued events' leases: claimed in order per conversation, renewed, finished or given back.

Each function is a step of a worker's unit of work (``app.db.transactions``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Row, bindparam, case, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, aliased

from app.conversations.models import Citizen, Conversation, DeliveryStatus, Message, WorkItem, WorkStatus
from app.db.statements import claim_statements, run_claim


async def find_work_item(session: AsyncSession, channel: str, dedupe_key: str) -> WorkItem | None:
    return await session.scalar(
        select(WorkItem).where(WorkItem.channel == channel, WorkItem.dedupe_key == dedupe_key)
    )


_older_item = aliased(WorkItem, name="older_item")


_CLAIM_WORK = claim_statements(
    WorkItem,
    select(WorkItem.id)
    .where(
        WorkItem.status == WorkStatus.PENDING,
        ~exists().where(
            _older_item.conversation_id == WorkItem.conversation_id,
            _older_item.id < WorkItem.id,
            _older_item.status.in_([WorkStatus.PENDING, WorkStatus.PROCESSING]),
        ),
    )
    .order_by(WorkItem.id)
    .limit(bindparam("limit")),
    {
        "status": WorkStatus.PROCESSING,
        "locked_by": bindparam("owner"),
        "lease_until": bindparam("until"),
        "attempts": WorkItem.attempts + 1,
    },
    WorkItem.status == WorkStatus.PENDING,
)


def claim_work_items(session: Session, worker_id: str, limit: int, lease_until: dt.datetime) -> list[int]:
    """Lease the oldest pending items whose conversation has nothing older unfinished."""
    return run_claim(session, _CLAIM_WORK, limit=limit, owner=worker_id, until=lease_until)


_FINISH_WORK = (
    update(WorkItem)
    .where(
        WorkItem.id.in_(bindparam("ids", expanding=True)),
        WorkItem.locked_by == bindparam("owner"),
        WorkItem.status == WorkStatus.PROCESSING,
    )
    .values(status=WorkStatus.DONE, finished_at=bindparam("now"), lease_until=None)
    .returning(WorkItem.id)
    .execution_options(synchronize_session=False)
)


def finish_work_items(
    session: Session, item_ids: Sequence[int], worker_id: str, now: dt.datetime
) -> set[int]:
    """Mark done those this worker still holds the lease of (others were taken over); their ids."""
    result = session.scalars(_FINISH_WORK, {"ids": list(item_ids), "owner": worker_id, "now": now})
    return set(result.all())


def finish_work_item(session: Session, item_id: int, worker_id: str, now: dt.datetime) -> bool:
    """Mark done only if this worker still holds the lease (else another worker took it over)."""
    return bool(finish_work_items(session, [item_id], worker_id, now))


def release_expired_leases(session: Session, now: dt.datetime) -> int:
    result = session.execute(
        update(WorkItem)
        .where(WorkItem.status == WorkStatus.PROCESSING, WorkItem.lease_until < now)
        .values(status=WorkStatus.PENDING, locked_by=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def renew_work_leases(session: Session, owner: str, ids: Sequence[int], lease_until: dt.datetime) -> None:
    """Extend the leases ``owner`` still holds on items it is handling."""
    session.execute(
        update(WorkItem)
        .where(WorkItem.id.in_(ids), WorkItem.locked_by == owner, WorkItem.status == WorkStatus.PROCESSING)
        .values(lease_until=lease_until)
        .execution_options(synchronize_session=False)
    )


def release_work_item(
    session: Session, item_id: int, owner: str, error: str, max_attempts: int
) -> str | None:
    """Give a crashed item back to the queue, or mark it failed after ``max_attempts``; its new status."""
    result = session.execute(
        update(WorkItem)
        .where(WorkItem.id == item_id, WorkItem.locked_by == owner, WorkItem.status == WorkStatus.PROCESSING)
        .values(
            status=case((WorkItem.attempts >= max_attempts, WorkStatus.FAILED), else_=WorkStatus.PENDING),
            locked_by=None,
            lease_until=None,
            error=error,
        )
        .returning(WorkItem.status)
    )
    return result.scalar_one_or_none()


def release_held(session: Session, owner_pattern: str = "%") -> int:
    """Give back every item and send held by owners matching ``owner_pattern`` (SQL ``LIKE``)."""
    result = session.execute(
        update(WorkItem)
        .where(WorkItem.status == WorkStatus.PROCESSING, WorkItem.locked_by.like(owner_pattern))
        .values(status=WorkStatus.PENDING, locked_by=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Message)
        # Only pending messages hold a lease; the status lets SQLite search an index, not scan.
        .where(
            Message.delivery_status == DeliveryStatus.PENDING, Message.delivery_locked_by.like(owner_pattern)
        )
        .values(delivery_lease_until=None, delivery_locked_by=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


_WITH_PENDING_WORK = (
    select(WorkItem.conversation_id)
    .where(
        WorkItem.conversation_id.in_(bindparam("ids", expanding=True)), WorkItem.status == WorkStatus.PENDING
    )
    .distinct()
)


def with_pending_work(session: Session, conversation_ids: Sequence[str]) -> set[str]:
    """Those of the conversations that have an event waiting to be handled."""
    rows = session.scalars(_WITH_PENDING_WORK, {"ids": list(conversation_ids)})
    return {c for c in rows.all() if c is not None}


_WORK_ITEMS_WITH_CHATS = (
    select(WorkItem, Conversation, Citizen)
    .join(Conversation, Conversation.id == WorkItem.conversation_id)
    .join(Citizen, Citizen.id == Conversation.citizen_id)
    .where(WorkItem.id.in_(bindparam("ids", expanding=True)))
    .order_by(WorkItem.id)
)


def work_items_with_chats(
    session: Session, item_ids: Sequence[int]
) -> Sequence[Row[WorkItem, Conversation, Citizen]]:
    """The items (in id order) with their conversations and citizens; deleted chats are left out."""
    return (session.execute(_WORK_ITEMS_WITH_CHATS, {"ids": list(item_ids)})).all()
