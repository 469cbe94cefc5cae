"""Store accepted inbound events durably, once each, before the webhook answers."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.conversations import repository
from app.conversations.models import Message, Sender, WorkStatus
from app.db import utcnow
from channels.base import InboundKind, InboundMessage

# Kinds that carry something the citizen said or sent: kept as a message in the transcript.
_TRANSCRIPT_KINDS = frozenset({InboundKind.TEXT, InboundKind.ATTACHMENT, InboundKind.POSTBACK})


@dataclass(frozen=True)
class Accepted:
    work_item_id: int | None  # None: a redelivery of something already stored
    message_id: int | None
    conversation_id: str | None


def inbound_to_payload(inbound: InboundMessage) -> dict[str, Any]:
    """What the worker needs of the event later, as JSON."""
    data = dataclasses.asdict(inbound)
    for key, value in data.items():
        if isinstance(value, dt.datetime):
            data[key] = value.isoformat()
    data["attachments"] = [dict(a) for a in data["attachments"]]
    data["extra"] = dict(data["extra"])
    return data


async def store_inbound(
    session: AsyncSession, inbound: InboundMessage, client_message_id: str | None = None
) -> Accepted:
    """Queue one event (and its transcript message) in the caller's transaction."""
    conversation = await repository.get_or_create_conversation_for(session, inbound.channel, inbound.user_id)
    ignored = inbound.kind == InboundKind.IGNORED
    item_id = await repository.insert_work_item(
        session,
        channel=inbound.channel,
        dedupe_key=inbound.dedupe_key,
        conversation_id=conversation.id,
        kind=inbound.kind,
        event_type=inbound.event_type,
        payload=inbound_to_payload(inbound),
        status=WorkStatus.DONE if ignored else WorkStatus.PENDING,
        received_at=utcnow(),
        finished_at=utcnow() if ignored else None,
    )
    if item_id is None:
        return Accepted(None, None, conversation.id)
    message_id = None
    if inbound.kind in _TRANSCRIPT_KINDS:
        message = Message(
            conversation_id=conversation.id,
            direction="in",
            sender=Sender.CITIZEN,
            text=inbound.text,
            quick_replies=[],
            extra={"attachments": [dict(dataclasses.asdict(a)) for a in inbound.attachments]}
            if inbound.attachments
            else {},
            client_message_id=client_message_id,
            external_id=inbound.external_message_id,
            created_at=utcnow(),
        )
        session.add(message)
        await session.flush()
        message_id = message.id
        conversation.last_inbound_at = message.created_at
        await repository.set_work_item_message(session, item_id, message_id)
    return Accepted(item_id, message_id, conversation.id)


async def store_inbound_batch(session: AsyncSession, batch: list[InboundMessage]) -> list[Accepted]:
    return [await store_inbound(session, inbound) for inbound in batch]
