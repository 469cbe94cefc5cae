"""How messages and conversations look on the wire (web chat, officer API, events)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import PlainSerializer

from app.conversations.models import Message

# Written as ``datetime.isoformat()`` writes it (``+00:00``), as the officer API always has;
# pydantic's own form would be ``Z``.
IsoTimestamp = Annotated[dt.datetime, PlainSerializer(dt.datetime.isoformat, return_type=str)]


def message_public(message: Message) -> dict[str, Any]:
    """The web-chat shape of INTERFACES.md."""
    return {
        "id": str(message.id),
        "direction": message.direction,
        "sender": message.sender,
        "text": message.text or "",
        "created_at": message.created_at.isoformat(),
        "quick_replies": list(message.quick_replies or []),
    }


def message_for_officer(message: Message) -> dict[str, Any]:
    """The officer transcript shape: adds the NLU decision, delivery status and rich parts."""
    data = message_public(message)
    data["nlu"] = message.nlu
    data["delivery_status"] = message.delivery_status
    data["delivery_error"] = message.delivery_error
    data["officer_id"] = message.officer_id
    data["extra"] = message.extra or {}
    return data


def message_event(message: Message) -> dict[str, Any]:
    return {"type": "message", "message": message_for_officer(message)}
