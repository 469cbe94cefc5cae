"""Bus topics the console listens to, and what officer actions publish on them.

``queue:{department}`` and ``conversation:{id}`` are shared with the pipeline (the web-chat
WebSocket also listens to ``conversation:{id}``, and forwards only citizen-visible messages).
Internal notes and state changes go to ``console:conversation:{id}``, which only officers hear.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from app.conversations.models import Conversation, Message
from app.conversations.schemas import message_event
from app.events import EventBus


def queue_topic(department: str) -> str:
    return f"queue:{department}"


def conversation_topic(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


def console_topic(conversation_id: str) -> str:
    return f"console:conversation:{conversation_id}"


async def publish_queue_changed(bus: EventBus, departments: Iterable[str | None]) -> None:
    for department in sorted({d for d in departments if d}):
        await bus.publish(queue_topic(department), {"type": "queue_changed", "department": department})


async def publish_messages(bus: EventBus, messages: Sequence[Message]) -> None:
    for message in messages:
        await bus.publish(conversation_topic(message.conversation_id), message_event(message))


async def publish_conversation_changed(bus: EventBus, conversation: Conversation) -> None:
    await bus.publish(
        console_topic(conversation.id),
        {
            "type": "conversation_changed",
            "conversation_id": conversation.id,
            "state": conversation.state,
            "department": conversation.department,
            "assigned_to": conversation.assigned_to,
        },
    )


async def publish_note(bus: EventBus, conversation_id: str, note: dict[str, Any]) -> None:
    await bus.publish(
        console_topic(conversation_id), {"type": "note", "conversation_id": conversation_id, "note": note}
    )
