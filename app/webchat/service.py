"""Web-chat sessions and messages: one session is one citizen with one conversation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.conversations import chats, work_queue
from app.conversations.intake import store_inbound
from app.conversations.models import Conversation, Message
from app.conversations.schemas import message_event
from app.db.schema import new_id, utcnow
from app.services import Services
from app.webchat.attachments import Upload
from channels.base import Attachment, Channel, InboundKind, InboundMessage


@dataclass(frozen=True)
class Posted:
    message_id: int | None
    conflict: bool = False


async def create_session(services: Services) -> str:
    session_id = new_id()
    async with services.sessionmaker() as session, session.begin():
        await chats.get_or_create_conversation_for(session, Channel.WEBCHAT, session_id)
    return session_id


async def find_conversation(session: AsyncSession, session_id: str) -> Conversation | None:
    return await chats.find_conversation(session, Channel.WEBCHAT, session_id)


# Message ids are 64-bit integers; a larger number (or "²", which ``isdigit`` accepts) names none.
_MAX_MESSAGE_ID = 2**63 - 1


async def resolve_after(session: AsyncSession, conversation_id: str, after: str | None) -> int | None:
    if after is None or not (after.isascii() and after.isdigit()) or len(after) > 19:
        return None
    candidate = int(after)
    if candidate > _MAX_MESSAGE_ID:
        return None
    found = await session.scalar(
        select(Message.id).where(Message.id == candidate, Message.conversation_id == conversation_id)
    )
    return int(found) if found is not None else None


async def post_message(
    services: Services, session_id: str, text: str, client_message_id: str
) -> Posted | None:
    """Store the message and queue it (once per ``client_message_id``); ``None``: no such session."""
    inbound = InboundMessage(
        channel=Channel.WEBCHAT,
        dedupe_key=f"{session_id}:{client_message_id}",
        user_id=session_id,
        kind=InboundKind.TEXT,
        timestamp=utcnow(),
        text=text,
        event_type="webchat.message",
    )
    return await _store_once(services, inbound, client_message_id, lambda stored: stored.text == text)


async def post_attachment(services: Services, session_id: str, upload: Upload) -> Posted | None:
    """Keep the file and queue it as the citizen's message (once per ``client_message_id``)."""
    client_message_id = upload.client_message_id or new_id()
    name = new_id()
    inbound = InboundMessage(
        channel=Channel.WEBCHAT,
        dedupe_key=f"{session_id}:{client_message_id}",
        user_id=session_id,
        kind=InboundKind.ATTACHMENT,
        timestamp=utcnow(),
        attachments=(Attachment(kind=upload.file_type.kind, filename=upload.filename),),
        event_type="webchat.attachment",
    )

    async def keep(session: AsyncSession, message: Message) -> None:
        stored_path = await upload.save(services.settings.var_dir, message.conversation_id, name)
        kept.append(services.settings.var_dir / stored_path)
        message.extra = {
            "attachments": [
                {
                    "kind": upload.file_type.kind,
                    "filename": upload.filename,
                    "stored_path": stored_path,
                    "content_type": upload.file_type.content_type,
                    "size": upload.size,
                }
            ]
        }

    def same(stored: Message) -> bool:
        return bool((stored.extra or {}).get("attachments"))

    kept: list[Path] = []
    try:
        return await _store_once(services, inbound, client_message_id, same, keep)
    except BaseException:
        for path in kept:  # the message was not stored: neither is its file
            path.unlink(missing_ok=True)
        raise


async def _store_once(
    services: Services,
    inbound: InboundMessage,
    client_message_id: str,
    same: Callable[[Message], bool],
    complete: Callable[[AsyncSession, Message], Awaitable[None]] | None = None,
) -> Posted | None:
    """Store and queue ``inbound`` unless its dedupe key was stored before (then: that message)."""
    stored: Message | None = None
    message_id: int | None = None
    async with services.sessionmaker() as session, session.begin():
        if await find_conversation(session, inbound.user_id) is None:
            return None
        existing = await work_queue.find_work_item(session, Channel.WEBCHAT, inbound.dedupe_key)
        if existing is None:
            accepted = await store_inbound(session, inbound, client_message_id=client_message_id)
            if accepted.work_item_id is not None:
                message_id = accepted.message_id
                stored = await session.get(Message, accepted.message_id)
                if stored is not None and complete is not None:
                    await complete(session, stored)
            else:  # a concurrent duplicate won the insert
                existing = await work_queue.find_work_item(session, Channel.WEBCHAT, inbound.dedupe_key)
        if existing is not None:
            earlier = await session.get(Message, existing.message_id) if existing.message_id else None
            if earlier is None or not same(earlier):
                return Posted(None, conflict=True)
            return Posted(earlier.id)
    services.metrics.messages_in.labels(Channel.WEBCHAT).inc()
    services.workers.notify_work()
    if stored is not None:
        await services.bus.publish(f"conversation:{stored.conversation_id}", message_event(stored))
    return Posted(message_id)
