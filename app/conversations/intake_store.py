"""The intake's SQL: accepted events go into the work queue with their transcript messages, once each.

On PostgreSQL a batch is usually one hand-written statement (``_QUEUE_EVENTS_POSTGRES``); on
SQLite a few ORM-built ones. Either way the caller's unit of work runs it (``app.db.transactions``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, text, update
from sqlalchemy.orm import Session

from app.conversations.chats import ChatKey, conversation_ids_for
from app.conversations.models import Conversation, ConversationState, WorkItem
from app.conversations.transcript import insert_messages
from app.db.schema import UtcDateTime, new_id, utcnow
from app.db.statements import by_dialect, dialect_of, execute_per_row

_NEW_WORK_ITEMS = by_dialect(
    lambda insert_: (
        insert_(WorkItem)
        .on_conflict_do_nothing(index_elements=["channel", "dedupe_key"])
        .returning(WorkItem.id, WorkItem.channel, WorkItem.dedupe_key)
    )
)


EventKey = tuple[str, str]  # (channel, dedupe_key)


@dataclass(frozen=True)
class NewEvent:
    """An accepted event to queue: its chat, its work item's row and, if a citizen said something, its message's row.

    The rows leave out ``conversation_id``: ``queue_events`` finds (or opens) the chat's conversation.
    """

    chat: ChatKey
    work_item: dict[str, Any]
    message: dict[str, Any] | None


@dataclass(frozen=True)
class Queued:
    items: dict[EventKey, tuple[int, int | None]]  # (work item id, message id) of each event stored now
    conversations: dict[ChatKey, str]  # each chat's conversation


def queue_events(session: Session, chats: Collection[ChatKey], events: Sequence[NewEvent]) -> Queued:
    """Find the chats' conversations (a first contact opens citizen and conversation), and queue the events.

    ``chats`` must hold every event's chat. Work items go in with the transcript messages of
    those stored now. An event stored before (same channel and dedupe key) is skipped, message
    and all; the events must have distinct keys. Messages get ``created_at`` now, and their
    conversations ``last_inbound_at``. On PostgreSQL this is one statement for the usual batch,
    so it may run outside a transaction (each event is stored whole, or not at all).
    """
    if not chats:
        return Queued({}, {})
    if dialect_of(session) == "postgresql":
        return _queue_events_postgres(session, chats, events)
    conversations = conversation_ids_for(session, set(chats))
    return Queued(_queue_events_step_by_step(session, events, conversations), conversations)


def _queue_events_step_by_step(
    session: Session, events: Sequence[NewEvent], conversations: dict[ChatKey, str]
) -> dict[EventKey, tuple[int, int | None]]:
    rows = [{**e.work_item, "conversation_id": conversations[e.chat]} for e in events]
    result = execute_per_row(session, _NEW_WORK_ITEMS[dialect_of(session)], rows)
    item_of: dict[EventKey, int] = {(channel, key): item_id for item_id, channel, key in result}
    with_message = [e for e in events if e.message is not None and _event_key(e) in item_of]
    # Stamped after the first write: on SQLite this transaction now holds the write lock, so
    # the transcript's timestamps follow its ids (a reply written meanwhile waits for us).
    now = utcnow()
    message_ids = insert_messages(
        session,
        [
            {**e.message, "conversation_id": conversations[e.chat], "created_at": now}
            for e in with_message
            if e.message
        ],
    )
    message_of = {_event_key(e): m for e, m in zip(with_message, message_ids, strict=True)}
    _link_work_item_messages(session, [(item_of[key], message_id) for key, message_id in message_of.items()])
    _touch_last_inbound(session, {conversations[e.chat]: now for e in with_message})
    return {key: (item_id, message_of.get(key)) for key, item_id in item_of.items()}


def _event_key(event: NewEvent) -> EventKey:
    return event.work_item["channel"], event.work_item["dedupe_key"]


# On PostgreSQL a batch is queued in one statement: it finds the known chats' conversations,
# opens the new citizens', inserts the work items and the transcript messages, and sets
# ``last_inbound_at``. Each round trip waits for a turn of the hub's loop and costs CPU in the
# driver, and with one statement the webhooks' intake runs outside a transaction: one round
# trip instead of four (BEGIN, find or open, queue, COMMIT). Intake CPU per message in batches
# of 4 is 0.22-0.31 ms this way, 0.37-0.40 ms in four (benchmarks/hub_stages.py, PostgreSQL).
# - The batch and its chats come as JSON arrays, so the statement's text (and its prepared
#   plan) is the same for every batch size.
# - Each chat is looked up on its own (LATERAL ... LIMIT 1): joined as a set, the planner (no
#   statistics yet, 100 rows guessed for the batch) scans the whole citizens table instead of
#   its index, and ack p99 at 300/s is 91-110 ms against 33-41 ms this way.
# - Left out, for ``conversation_ids_for``'s race-safe steps: a citizen stored without a
#   conversation, and one another transaction is inserting (the insert waits for it, then skips).
# - New rows go in in key order and conversations are locked in id order, as the pipeline locks
#   them. The values the models would default are given here, since raw SQL skips the ORM's
#   defaults: tests/unit/app/test_intake_statement.py fails when a model gains a column the
#   database cannot fill and this statement does not write.
# - Each new item draws its message's id from the messages' sequence, so the message goes in
#   already linked. A new conversation gets ``last_inbound_at`` as it is inserted (a statement
#   cannot update a row it inserts).
_QUEUE_EVENTS_POSTGRES = text(
    """
    WITH chat AS (
        SELECT * FROM json_to_recordset(CAST(:chats AS json)) AS chat(
            channel text, external_id text, new_citizen_id text, new_conversation_id text, has_message boolean
        )
    ),
    found AS (
        SELECT chat.*, stored.citizen_id, stored.conversation_id
        FROM chat LEFT JOIN LATERAL (
            SELECT citizens.id AS citizen_id, conversations.id AS conversation_id
            FROM citizens LEFT JOIN conversations ON conversations.citizen_id = citizens.id
            WHERE citizens.channel = chat.channel AND citizens.external_id = chat.external_id
            LIMIT 1
        ) AS stored ON true
    ),
    new_citizens AS (
        INSERT INTO citizens (id, channel, external_id, active, created_at)
        SELECT new_citizen_id, channel, external_id, true, :now FROM found
        WHERE citizen_id IS NULL
        ORDER BY channel, external_id
        ON CONFLICT (channel, external_id) DO NOTHING
        RETURNING id
    ),
    opened AS (
        INSERT INTO conversations (id, citizen_id, channel, state, fallback_streak, clarify_pending,
                                   pin_failures, last_inbound_at, created_at, updated_at)
        SELECT found.new_conversation_id, found.new_citizen_id, found.channel, :state, 0, false, 0,
               CASE WHEN found.has_message THEN CAST(:now AS timestamptz) END, :now, :now
        FROM found JOIN new_citizens ON new_citizens.id = found.new_citizen_id
        ORDER BY found.channel, found.external_id
        RETURNING id
    ),
    resolved AS (
        SELECT channel, external_id, conversation_id, false AS opened FROM found
        WHERE conversation_id IS NOT NULL
        UNION ALL
        SELECT found.channel, found.external_id, found.new_conversation_id, true
        FROM found JOIN opened ON opened.id = found.new_conversation_id
    ),
    batch AS (
        SELECT event.*, resolved.conversation_id, resolved.opened
        FROM json_to_recordset(CAST(:batch AS json)) AS event(
            position int, channel text, user_id text, dedupe_key text, kind text, event_type text,
            payload json, status text, attempts int, received_at timestamptz,
            finished_at timestamptz, has_message boolean, direction text, sender text, text text,
            quick_replies json, extra json, client_message_id text, external_id text,
            delivery_attempts int
        )
        JOIN resolved ON resolved.channel = event.channel AND resolved.external_id = event.user_id
    ),
    items AS (
        INSERT INTO work_items (channel, dedupe_key, conversation_id, kind, event_type, payload,
                                status, attempts, received_at, finished_at, message_id)
        SELECT channel, dedupe_key, conversation_id, kind, event_type, payload,
               status, attempts, received_at, finished_at,
               CASE WHEN has_message THEN nextval(pg_get_serial_sequence('messages', 'id')) END
        FROM batch ORDER BY position
        ON CONFLICT (channel, dedupe_key) DO NOTHING
        RETURNING id, channel, dedupe_key, message_id
    ),
    new_messages AS (
        SELECT items.message_id, batch.* FROM items JOIN batch USING (channel, dedupe_key)
        WHERE items.message_id IS NOT NULL
    ),
    transcript AS (
        INSERT INTO messages (id, conversation_id, direction, sender, text, quick_replies, extra,
                              client_message_id, external_id, created_at, delivery_attempts)
        SELECT message_id, conversation_id, direction, sender, text, quick_replies, extra,
               client_message_id, external_id, :now, delivery_attempts
        FROM new_messages ORDER BY message_id
    ),
    touched AS (
        UPDATE conversations SET last_inbound_at = :now
        FROM (
            SELECT id FROM conversations
            WHERE id IN (SELECT conversation_id FROM new_messages WHERE NOT opened)
            ORDER BY id FOR UPDATE
        ) AS locked
        WHERE conversations.id = locked.id
    )
    SELECT channel, dedupe_key AS key, NULL AS conversation_id, id AS item_id, message_id FROM items
    UNION ALL
    SELECT channel, external_id, conversation_id, NULL, NULL FROM resolved
    """
).bindparams(bindparam("now", type_=UtcDateTime))


def _queue_events_postgres(
    session: Session, chats: Collection[ChatKey], events: Sequence[NewEvent]
) -> Queued:
    queued = _queue_events_in_one_statement(session, chats, events)
    left = set(chats) - queued.conversations.keys()
    if not left:
        return queued
    conversation_ids_for(session, left)  # the race-safe steps
    more = _queue_events_in_one_statement(session, left, [e for e in events if e.chat in left])
    if left - more.conversations.keys():
        raise RuntimeError("a chat's conversation vanished while its events were being queued")
    return Queued(queued.items | more.items, queued.conversations | more.conversations)


def _queue_events_in_one_statement(
    session: Session, chats: Collection[ChatKey], events: Sequence[NewEvent]
) -> Queued:
    chats_with_message = {event.chat for event in events if event.message is not None}
    chat_rows = [
        {
            "channel": channel,
            "external_id": external,
            "new_citizen_id": new_id(),
            "new_conversation_id": new_id(),
            "has_message": (channel, external) in chats_with_message,
        }
        for channel, external in chats
    ]
    batch = [
        {
            "position": position,
            "user_id": event.chat[1],
            **event.work_item,
            **(event.message or {}),
            "has_message": event.message is not None,
        }
        for position, event in enumerate(events)
    ]
    rows = session.connection().execute(
        _QUEUE_EVENTS_POSTGRES,
        {
            "chats": json.dumps(chat_rows),
            "batch": json.dumps(batch, default=_iso),
            "state": ConversationState.BOT.value,
            "now": utcnow(),
        },
    )
    queued = Queued({}, {})
    for channel, key, conversation_id, item_id, message_id in rows:
        if conversation_id is None:
            queued.items[(channel, key)] = (item_id, message_id)
        else:
            queued.conversations[(channel, key)] = conversation_id
    return queued


def _iso(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


_LINK_MESSAGE = (
    update(WorkItem)
    .where(WorkItem.id == bindparam("item_id"))
    .values(message_id=bindparam("linked_message"))
    .execution_options(synchronize_session=False)
)


_TOUCH_INBOUND = (
    update(Conversation)
    .where(Conversation.id == bindparam("conversation_id"))
    .values(last_inbound_at=bindparam("at"))
    .execution_options(synchronize_session=False)
)


def _link_work_item_messages(session: Session, links: Sequence[tuple[int, int]]) -> None:
    """Point work items at their transcript messages: ``(item_id, message_id)`` pairs."""
    if links:
        execute_per_row(session, _LINK_MESSAGE, [{"item_id": i, "linked_message": m} for i, m in links])


def _touch_last_inbound(session: Session, last_inbound: dict[str, dt.datetime]) -> None:
    """Record when each conversation's citizen last wrote (Messenger's reply window counts from it)."""
    if last_inbound:
        execute_per_row(
            session,
            _TOUCH_INBOUND,
            # In id order, as the pipeline locks them: no deadlock between transactions.
            [{"conversation_id": c, "at": at} for c, at in sorted(last_inbound.items())],
        )
