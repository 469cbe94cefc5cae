"""Data-subject requests: everything we hold on one citizen (export), and erasing it (erase).

Both are identified by the channel and the platform's user id (LINE ``userId``, Messenger PSID,
web-chat session id) and leave an audit record (``citizen_export`` / ``citizen_erase``, no
officer: they are run by the agency's data-protection staff from the command line).

Erasing anonymises rather than deletes rows: texts, files, names, notes and identifiers go; the
decision counts stay, as after retention. A citizen whose conversation is with the officers or
whose complaint is not closed is refused (close the matter first, then erase).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.complaints.models import CaseStatus, ComplaintCase
from app.conversations.models import Citizen, Conversation, Escalation, Message
from app.db.schema import utcnow
from app.insights import retention_repository as repository
from app.insights.retention import delete_files, redacted_extra, stored_files
from app.officers.models import ConversationNote

NLU_KEYS = ("intent", "confidence", "faq_id", "action")
log = logging.getLogger(__name__)


class CitizenNotFound(LookupError):
    pass


class ErasureRefused(RuntimeError):
    """The citizen has an open matter; ``str(error)`` says which."""


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _citizen_view(citizen: Citizen) -> dict[str, Any]:
    return {
        "channel": citizen.channel,
        "user_id": citizen.external_id,
        "display_name": citizen.display_name,
        "active": citizen.active,
        "created_at": _iso(citizen.created_at),
    }


def _message_view(message: Message) -> dict[str, Any]:
    extra = message.extra or {}
    attachments = [
        {k: a.get(k) for k in ("kind", "content_type", "size", "stored_path") if a.get(k) is not None}
        for a in extra.get("attachments") or []
        if isinstance(a, dict)
    ]
    nlu = {k: message.nlu.get(k) for k in NLU_KEYS} if isinstance(message.nlu, dict) else None
    return {
        "id": str(message.id),
        "direction": message.direction,
        "sender": message.sender,
        "text": message.text,
        "created_at": _iso(message.created_at),
        "attachments": attachments,
        "nlu": nlu,
        "redacted": bool(extra.get("redacted") or extra.get("unsent")),
    }


def _escalation_view(escalation: Escalation) -> dict[str, Any]:
    return {
        "department": escalation.department,
        "reason": escalation.reason,
        "created_at": _iso(escalation.created_at),
        "first_reply_at": _iso(escalation.first_reply_at),
        "resolved_at": _iso(escalation.resolved_at),
        "rating": escalation.rating,
    }


def _complaint_view(case: ComplaintCase) -> dict[str, Any]:
    return {
        "number": case.number,
        "department": case.department,
        "status": case.status,
        "description": case.description,
        "created_at": _iso(case.created_at),
        "closed_at": _iso(case.closed_at),
    }


def _note_view(note: ConversationNote) -> dict[str, Any]:
    return {"kind": note.kind, "text": note.text, "created_at": _iso(note.created_at)}


async def _conversation_parts(session: AsyncSession, conversation: Conversation | None) -> dict[str, Any]:
    if conversation is None:
        return {"conversation": None, "messages": [], "escalations": [], "notes": []}
    return {
        "conversation": {
            "state": conversation.state,
            "department": conversation.department,
            "created_at": _iso(conversation.created_at),
            "last_inbound_at": _iso(conversation.last_inbound_at),
        },
        "messages": [_message_view(m) for m in await repository.messages_of(session, conversation.id)],
        "escalations": [
            _escalation_view(e) for e in await repository.escalations_of(session, conversation.id)
        ],
        "notes": [_note_view(n) for n in await repository.notes_of(session, conversation.id)],
    }


async def _citizen_and_conversation(
    session: AsyncSession, channel: str, user_id: str
) -> tuple[Citizen, Conversation | None]:
    citizen = await repository.citizen_by_user(session, channel, user_id)
    if citizen is None:
        raise CitizenNotFound(f"no citizen with user id {user_id!r} on channel {channel!r}")
    return citizen, await repository.conversation_of(session, citizen.id)


async def export_citizen(
    sessionmaker: async_sessionmaker[AsyncSession], channel: str, user_id: str, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Everything held on the citizen, as JSON-ready data; raises ``CitizenNotFound``."""
    now = now or utcnow()
    async with sessionmaker() as session, session.begin():
        citizen, conversation = await _citizen_and_conversation(session, channel, user_id)
        export = {
            "exported_at": now.isoformat(),
            "citizen": _citizen_view(citizen),
            **await _conversation_parts(session, conversation),
            "complaint_cases": [
                _complaint_view(c) for c in await repository.complaints_of(session, citizen.id)
            ],
        }
        repository.add_audit(
            session, "citizen_export", citizen.id, {"channel": channel, "messages": len(export["messages"])}
        )
    return export


async def _refusal(session: AsyncSession, citizen: Citizen, conversation: Conversation | None) -> str | None:
    if conversation is not None and conversation.state in repository.OPEN_STATES:
        return f"the conversation is {conversation.state}: resolve it in the officer console first"
    if any(c.status != CaseStatus.CLOSED for c in await repository.complaints_of(session, citizen.id)):
        return "a complaint case is not closed: close it first"
    if conversation is not None and await repository.unfinished_work(session, conversation.id):
        return "messages of this citizen are still being processed: try again in a minute"
    return None


async def erase_citizen(
    sessionmaker: async_sessionmaker[AsyncSession],
    var_dir: Path,
    channel: str,
    user_id: str,
    now: dt.datetime | None = None,
) -> dict[str, int]:
    """Erase the citizen's personal data; raises ``CitizenNotFound`` or ``ErasureRefused``."""
    now = now or utcnow()
    async with sessionmaker() as session, session.begin():
        citizen, conversation = await _citizen_and_conversation(session, channel, user_id)
        refusal = await _refusal(session, citizen, conversation)
        if refusal is not None:
            raise ErasureRefused(refusal)
        counts = {"messages": 0, "attachments": 0, "notes": 0, "complaint_cases": 0, "work_items": 0}
        if conversation is not None:
            for message in await repository.messages_of(session, conversation.id):
                counts["attachments"] += await asyncio.to_thread(
                    delete_files, stored_files(var_dir, message.extra)
                )
                message.text = None
                message.extra = redacted_extra(message.extra, now)
                message.external_id = message.client_message_id = None
                message.reply_context = None
                message.delivery_error = None
                counts["messages"] += 1
            for note in await repository.notes_of(session, conversation.id):
                note.text, note.detail = "", {}
                counts["notes"] += 1
            counts["work_items"] = await repository.clear_work_of(session, conversation.id)
        for case in await repository.complaints_of(session, citizen.id):
            case.description = None
            counts["complaint_cases"] += 1
        # a new message from the same account starts afresh: nothing links it to the erased one
        citizen.external_id = f"erased:{citizen.id}"
        citizen.display_name = None
        citizen.unreachable_reason = None
        citizen.active = False
        repository.add_audit(session, "citizen_erase", citizen.id, {"channel": channel, **counts})
    await flush_sqlite_log(sessionmaker)
    return counts


async def flush_sqlite_log(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """On SQLite, copy the write-ahead log into the database and empty it: the erased texts' old
    pages stay in the log until then (``secure_delete`` zeroes them in the database itself)."""
    async with sessionmaker() as session:
        if session.get_bind().dialect.name != "sqlite":
            return
        busy, _, _ = (await session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))).one()
    if busy:  # a reader held an old snapshot: the next checkpoint copies it over
        log.warning("erasure_log_not_truncated")
