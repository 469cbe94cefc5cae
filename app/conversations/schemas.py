"""How messages and conversations look on the wire (web chat, officer API, events)."""

from __future__ import annotations

from typing import Any

from app.conversations.models import Message


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
