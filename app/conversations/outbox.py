"""Outbound messages waiting for delivery: leased in order per conversation, recorded as sent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import bindparam, exists, select, update
from sqlalchemy.orm import Session, aliased

from app.conversations.models import DeliveryStatus, Message
from app.db.statements import claim_statements, run_claim


def renew_delivery_leases(session: Session, owner: str, ids: Sequence[int], lease_until: dt.datetime) -> None:
    """Extend the leases ``owner`` still holds on messages it is sending (not once an outcome is recorded)."""
    session.execute(
        update(Message)
        .where(
            Message.id.in_(ids),
            Message.delivery_locked_by == owner,
            Message.delivery_lease_until.is_not(None),
        )
        .values(delivery_lease_until=lease_until)
        .execution_options(synchronize_session=False)
    )


_older_message = aliased(Message, name="older_message")


_CLAIM_DELIVERY = claim_statements(
    Message,
    select(Message.id)
    .where(
        Message.direction == "out",
        Message.delivery_status == DeliveryStatus.PENDING,
        Message.next_attempt_at <= bindparam("now"),
        Message.delivery_lease_until.is_(None) | (Message.delivery_lease_until < bindparam("now")),
        ~exists().where(
            _older_message.conversation_id == Message.conversation_id,
            _older_message.id < Message.id,
            _older_message.direction == "out",
            _older_message.delivery_status == DeliveryStatus.PENDING,
        ),
    )
    .order_by(Message.id)
    .limit(bindparam("limit")),
    {"delivery_lease_until": bindparam("until"), "delivery_locked_by": bindparam("owner")},
)


def claim_delivery_head(
    session: Session, worker_id: str, now: dt.datetime, lease_until: dt.datetime, limit: int
) -> list[int]:
    """Lease the first undelivered outbound message of conversations ready to send."""
    return run_claim(session, _CLAIM_DELIVERY, limit=limit, now=now, owner=worker_id, until=lease_until)


_WITH_PENDING_OUTBOUND = (
    select(Message.conversation_id)
    .where(
        Message.conversation_id.in_(bindparam("ids", expanding=True)),
        Message.direction == "out",
        Message.delivery_status == DeliveryStatus.PENDING,
    )
    .distinct()
)


def with_pending_outbound(session: Session, conversation_ids: Sequence[str]) -> set[str]:
    """Those of the conversations that have an undelivered outbound message."""
    rows = session.scalars(_WITH_PENDING_OUTBOUND, {"ids": list(conversation_ids)})
    return set(rows.all())


def following_pending_outbound(
    session: Session, head: Message, now: dt.datetime, limit: int
) -> Sequence[Message]:
    """Outbound messages right after ``head`` that may go in the same send call."""
    if limit <= 0:
        return []
    rows = session.scalars(
        select(Message)
        .where(
            Message.conversation_id == head.conversation_id,
            Message.id > head.id,
            Message.direction == "out",
            Message.delivery_status == DeliveryStatus.PENDING,
        )
        .order_by(Message.id)
        .limit(limit)
    )
    return [m for m in rows if m.next_attempt_at is not None and m.next_attempt_at <= now]


_MARK_SENT = (
    update(Message)
    .where(Message.id.in_(bindparam("ids", expanding=True)))
    .values(
        delivery_status=DeliveryStatus.SENT,
        delivered_via=bindparam("via"),
        delivery_attempts=Message.delivery_attempts + 1,
        delivery_lease_until=None,
        delivery_error=None,
    )
    .execution_options(synchronize_session=False)
)


def mark_sent(session: Session, message_ids: Sequence[int], via: str | None) -> None:
    """Record outbound messages as delivered (``via``: reply, push, ...), one attempt more each."""
    session.execute(_MARK_SENT, {"ids": list(message_ids), "via": via})
