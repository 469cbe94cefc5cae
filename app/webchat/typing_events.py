"""Typing indicators for web chat: sent only when someone is really composing.

The widget shows "typing" on these events alone, never on a guess. Each event says for how
long it holds (``expires_in`` seconds): the bot's while its answer is being prepared (the reply
itself ends it sooner), an officer's while the console keeps reporting keystrokes (it does so
at most every few seconds), so a console closed mid-sentence cannot leave it on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from app.events import EventBus

BOT_COMPOSING_SECONDS = 15
OFFICER_TYPING_SECONDS = 6


def session_topic(session_id: str) -> str:
    """Events for one web-chat session that the bot's pipeline sends by the citizen's id."""
    return f"webchat:{session_id}"


def conversation_topic(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


def typing_event(sender: str, active: bool, expires_in: int) -> dict[str, Any]:
    return {"type": "typing", "sender": sender, "active": active, "expires_in": expires_in if active else 0}


def bot_composing_announcer(bus: EventBus) -> Callable[[str], Awaitable[None]]:
    """For ``WebchatAdapter``: tell a session's widget that the bot is preparing an answer."""

    async def announce(session_id: str) -> None:
        await bus.publish(session_topic(session_id), typing_event("bot", True, BOT_COMPOSING_SECONDS))

    return announce


async def officer_typing(bus: EventBus, conversation_id: str, active: bool) -> None:
    await bus.publish(
        conversation_topic(conversation_id), typing_event("officer", active, OFFICER_TYPING_SECONDS)
    )
