"""Citizens and their conversations: found by chat (channel and the citizen's id on it), opened on first contact.

The sync functions take a ``Session``: the intake and the workers run them in their units of
work (``app.db.transactions``). Request handlers use the async ones, or ``AsyncSession.run_sync``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Select, bindparam, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.conversations.models import Citizen, Conversation, ConversationState
from app.db.schema import new_id
from app.db.statements import by_dialect, dialect_of, execute_per_row


async def find_conversation(session: AsyncSession, channel: str, external_id: str) -> Conversation | None:
    return await session.scalar(
        select(Conversation)
        .join(Citizen, Citizen.id == Conversation.citizen_id)
        .where(Citizen.channel == channel, Citizen.external_id == external_id)
    )


async def get_or_create_conversation_for(
    session: AsyncSession, channel: str, external_id: str
) -> Conversation:
    """The citizen's conversation, created with the citizen on first contact."""
    ids = await session.run_sync(conversation_ids_for, {(channel, external_id)})
    conversation = await session.get(Conversation, ids[(channel, external_id)])
    assert conversation is not None
    return conversation


ChatKey = tuple[str, str]  # (channel, the citizen's id on it)


_NEW_CITIZENS = by_dialect(
    lambda insert_: (
        insert_(Citizen)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(Citizen.id, Citizen.channel, Citizen.external_id)
    )
)


_NEW_CONVERSATIONS = by_dialect(
    lambda insert_: (
        insert_(Conversation)
        .on_conflict_do_nothing(index_elements=["citizen_id"])
        .returning(Conversation.id, Conversation.citizen_id)
    )
)


# How chats are found. PostgreSQL searches its (channel, external_id) index for a list of
# pairs. SQLite scans the whole citizens table for a list of two or more pairs (5 ms at 50,000
# citizens, and growing), but searches the index given two lists, channels and external ids,
# whose rows are then matched to the pairs here. On PostgreSQL the two lists plan worse while a
# new table has no statistics yet (benchmarks/load.py), so each database gets its own.
_CHATS_AS_PAIRS: Any = tuple_(Citizen.channel, Citizen.external_id).in_(bindparam("keys", expanding=True))


_CHATS_AS_LISTS: Any = Citizen.channel.in_(bindparam("channels", expanding=True)) & Citizen.external_id.in_(
    bindparam("external_ids", expanding=True)
)


def _chat_lookups(query: Select[str, str, str]) -> dict[str, Select[str, str, str]]:
    """``query`` limited to the chats asked for, in each database's form."""
    return {"postgresql": query.where(_CHATS_AS_PAIRS), "sqlite": query.where(_CHATS_AS_LISTS)}


_CITIZENS_OF = _chat_lookups(select(Citizen.channel, Citizen.external_id, Citizen.id))


_CONVERSATIONS_OF = _chat_lookups(
    select(Citizen.channel, Citizen.external_id, Conversation.id).join(
        Conversation, Conversation.citizen_id == Citizen.id
    )
)


def _by_chat(
    session: Session, statements: dict[str, Select[str, str, str]], keys: Collection[ChatKey]
) -> dict[ChatKey, str]:
    """The statement's third column for each of ``keys`` found."""
    wanted = set(keys)
    if dialect_of(session) == "sqlite":
        params = {"channels": sorted({c for c, _ in wanted}), "external_ids": sorted({e for _, e in wanted})}
        rows = session.execute(statements["sqlite"], params)
    else:
        rows = session.execute(statements["postgresql"], {"keys": sorted(wanted)})
    return {(channel, external): value for channel, external, value in rows if (channel, external) in wanted}


def conversation_ids_for(session: Session, keys: set[ChatKey]) -> dict[ChatKey, str]:
    """Each chat's conversation id, creating citizen and conversation on first contact (race-safe).

    The inserts return what they created; only rows another transaction created meanwhile
    (the inserts skipped them) are read back: two statements fewer for each batch with a new
    citizen. (The webhooks' intake on PostgreSQL finds and opens chats in its one statement,
    ``intake_store.queue_events``, and comes here only for what that left.)
    """
    found = _conversation_ids(session, keys)
    missing = sorted(keys - found.keys())
    if not missing:
        return found
    dialect = dialect_of(session)
    created = execute_per_row(
        session,
        _NEW_CITIZENS[dialect],
        [{"id": new_id(), "channel": c, "external_id": e, "active": True} for c, e in missing],
    )
    citizen_of: dict[ChatKey, str] = {(channel, external): id_ for id_, channel, external in created}
    if len(citizen_of) < len(missing):
        citizen_of.update(_by_chat(session, _CITIZENS_OF, [key for key in missing if key not in citizen_of]))
    key_of = {citizen_id: key for key, citizen_id in citizen_of.items()}
    opened = execute_per_row(
        session,
        _NEW_CONVERSATIONS[dialect],
        [
            # In key order, as the citizens were: concurrent first contacts take locks in one order.
            {"id": new_id(), "citizen_id": citizen_of[key], "channel": key[0], "state": ConversationState.BOT}
            for key in missing
        ],
    )
    found.update({key_of[citizen_id]: conversation_id for conversation_id, citizen_id in opened})
    if len(found) < len(keys):
        found.update(_conversation_ids(session, [key for key in missing if key not in found]))
    return found


def _conversation_ids(session: Session, keys: Collection[ChatKey]) -> dict[ChatKey, str]:
    return _by_chat(session, _CONVERSATIONS_OF, keys)


_LOCK_CONVERSATIONS = (
    select(Conversation)
    .where(Conversation.id.in_(bindparam("ids", expanding=True)))
    .order_by(Conversation.id)  # locked in id order, as intake updates them: no deadlock
    .with_for_update(key_share=True)  # FOR NO KEY UPDATE: new messages may still refer to them
)


def lock_conversations(session: Session, conversation_ids: Sequence[str]) -> dict[str, Conversation]:
    """Load and lock the conversations for the rest of the transaction, by id."""
    return {c.id: c for c in session.scalars(_LOCK_CONVERSATIONS, {"ids": list(conversation_ids)})}
