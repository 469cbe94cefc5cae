"""The queued event a worker handles, decoded once from its work item.

Intake keeps each ``InboundMessage`` as its work item's JSON payload
(``intake.inbound_to_payload``); ``InboundEvent.decode`` is the inverse, so that the pipeline
and the flows read typed fields and never the payload itself.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from app.conversations.models import WorkItem
from channels.base import (
    POSTBACK_CANCEL,
    POSTBACK_FAQ_PREFIX,
    POSTBACK_GET_STARTED,
    POSTBACK_HUMAN,
    Channel,
    InboundKind,
    InboundMessage,
)
from knowledge_base.conversation import Responses

_QUEUED = TypeAdapter(InboundMessage)


class UndecodableEvent(ValueError):
    """A work item's payload is not an event as intake queues it (the reason names no value)."""


def postback_readings(responses: Responses) -> dict[str, str]:
    """The words the bot reads a tapped action button as: what a citizen would type for it."""
    return {
        POSTBACK_HUMAN: responses.human_postback_reads_as,
        POSTBACK_CANCEL: responses.cancel_postback_reads_as,
    }


@dataclass(frozen=True)
class InboundEvent:
    """One queued event of a conversation, as its channel normalised it."""

    item_id: int
    conversation_id: str
    message_id: int | None  # its transcript message, for what a citizen said or sent
    received_at: dt.datetime
    inbound: InboundMessage
    # What it says: the citizen's text, or the words a tapped button stands for; "" for neither.
    text: str

    @classmethod
    def decode(cls, item: WorkItem, postback_readings: Mapping[str, str]) -> InboundEvent:
        try:
            inbound = _QUEUED.validate_python(item.payload)
        except ValidationError as error:
            # Field names and error types only: the values are what a citizen wrote.
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'payload'}: {e['type']}"
                for e in error.errors(include_input=False, include_url=False)
            )
            raise UndecodableEvent(f"work item {item.id}: {problems}") from None
        return cls(
            item_id=item.id,
            conversation_id=str(item.conversation_id),
            message_id=item.message_id,
            received_at=item.received_at,
            inbound=inbound,
            text=_text_of(inbound, postback_readings),
        )

    @property
    def kind(self) -> InboundKind:
        return self.inbound.kind

    @property
    def channel(self) -> Channel:
        return self.inbound.channel

    @property
    def addressed(self) -> bool:
        """False for group chatter not meant for the bot: kept, never answered."""
        return self.inbound.addressed

    @property
    def postback(self) -> str:
        """The action a tapped button names (``channels.base.POSTBACK_*``); "" for anything else."""
        return (self.inbound.payload or "") if self.kind == InboundKind.POSTBACK else ""

    @property
    def tapped_faq_id(self) -> str | None:
        """The entry a tapped FAQ button names."""
        postback = self.postback
        return (
            postback.removeprefix(POSTBACK_FAQ_PREFIX) if postback.startswith(POSTBACK_FAQ_PREFIX) else None
        )

    @property
    def starts_chat(self) -> bool:
        """The citizen added the account or pressed Get Started: the bot introduces itself."""
        return self.kind == InboundKind.FOLLOW or self.postback == POSTBACK_GET_STARTED

    @property
    def only_stickers(self) -> bool:
        return all(a.kind == "sticker" for a in self.inbound.attachments)

    def attachments_as_queued(self) -> list[dict[str, Any]]:
        """The attachments in the form adapters fetch and the transcript keeps them."""
        return [dataclasses.asdict(a) for a in self.inbound.attachments]


def _text_of(inbound: InboundMessage, postback_readings: Mapping[str, str]) -> str:
    if inbound.kind == InboundKind.TEXT:
        return inbound.text or ""
    if inbound.kind == InboundKind.POSTBACK:
        return postback_readings.get(inbound.payload or "") or inbound.text or ""
    return ""
