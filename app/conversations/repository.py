"""SQL for conversations, messages and the work queue. No business rules here.

The statements of the intake and of the workers (queueing, claiming, handling and sending
events) take a sync ``Session``: each of their transactions runs in one call (through
``app.db.Transactions``; on SQLite see ``SqliteTransactions``). Request handlers that share
one use ``AsyncSession.run_sync``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, bindparam, case, exists, func, insert, select, text, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, aliased

from app.conversations.models import (
    Citizen,
    Conversation,
    ConversationState,
    DeliveryStatus,
    Message,
    WorkItem,
    WorkStatus,
)
from app.db.schema import UtcDateTime, new_id, utcnow


def _dialect(session: AsyncSession | Session) -> str:
    return session.get_bind().dialect.name


def _by_dialect(build: Any) -> dict[str, Any]:
    """A statement that needs dialect-specific SQL (``ON CONFLICT``), built once for each database."""
    return {"postgresql": build(postgresql.insert), "sqlite": build(sqlite.insert)}


def _claim_statements(
    table: Any, candidates: Select[Any], values: dict[str, Any], *still: Any
) -> dict[str, Any]:
    """The claim ``UPDATE`` of each database, built once (building them costs more than running them).

    On PostgreSQL the candidates are selected ``FOR UPDATE SKIP LOCKED`` in a ``MATERIALIZED``
    CTE, so that several hub processes claim side by side without waiting on or doubling each
    other's work, and the LIMITed selection runs once (inside ``UPDATE ... IN (subquery)`` the
    planner may re-run it and claim more rows than asked). One statement, so a claim needs no
    transaction around it (``Transactions.run_autocommit``). SQLite serialises writers, so one
    ``UPDATE`` with the subquery is atomic. ``still`` re-checks what must hold at update time.
    Parameters: ``limit``, ``owner``, ``until``, ``now`` where the candidates use it.
    """

    def claim(ids: Any) -> Any:
        return (
            update(table)
            .where(table.id.in_(ids), *still)
            .values(values)
            .returning(table.id)
            .execution_options(synchronize_session=False)
        )

    picked = candidates.with_for_update(skip_locked=True, of=table).cte("picked").prefix_with("MATERIALIZED")
    return {"postgresql": claim(select(picked.c.id)), "sqlite": claim(candidates.scalar_subquery())}


def _execute_per_row(session: Session, statement: Any, rows: Sequence[dict[str, Any]]) -> Any:
    """Run a statement once per row, as plain SQL (an ORM bulk statement does more, slower)."""
    return session.connection().execute(statement, list(rows))


def _claim(session: Session, statements: dict[str, Any], **params: Any) -> list[int]:
    return sorted(session.scalars(statements[_dialect(session)], params).all())


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


_NEW_CITIZENS = _by_dialect(
    lambda insert_: (
        insert_(Citizen)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(Citizen.id, Citizen.channel, Citizen.external_id)
    )
)
_NEW_CONVERSATIONS = _by_dialect(
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
    if _dialect(session) == "sqlite":
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
    ``queue_events``, and comes here only for what that left.)
    """
    found = _conversation_ids(session, keys)
    missing = sorted(keys - found.keys())
    if not missing:
        return found
    dialect = _dialect(session)
    created = _execute_per_row(
        session,
        _NEW_CITIZENS[dialect],
        [{"id": new_id(), "channel": c, "external_id": e, "active": True} for c, e in missing],
    )
    citizen_of: dict[ChatKey, str] = {(channel, external): id_ for id_, channel, external in created}
    if len(citizen_of) < len(missing):
        citizen_of.update(_by_chat(session, _CITIZENS_OF, [key for key in missing if key not in citizen_of]))
    key_of = {citizen_id: key for key, citizen_id in citizen_of.items()}
    opened = _execute_per_row(
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


_NEW_WORK_ITEMS = _by_dialect(
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
    if _dialect(session) == "postgresql":
        return _queue_events_postgres(session, chats, events)
    conversations = conversation_ids_for(session, set(chats))
    return Queued(_queue_events_step_by_step(session, events, conversations), conversations)


def _queue_events_step_by_step(
    session: Session, events: Sequence[NewEvent], conversations: dict[ChatKey, str]
) -> dict[EventKey, tuple[int, int | None]]:
    rows = [{**e.work_item, "conversation_id": conversations[e.chat]} for e in events]
    result = _execute_per_row(session, _NEW_WORK_ITEMS[_dialect(session)], rows)
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


_NEW_MESSAGES = insert(Message).returning(Message.id, Message.conversation_id)


def insert_messages(session: Session, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert transcript messages (rows with the same keys); their ids, in the order given.

    Each statement takes at most one row per conversation, so that its ``RETURNING`` rows map
    back by conversation (asking the database to keep the order would cost one statement per
    row on SQLite). A citizen rarely has two messages in one batch: usually one statement.
    """
    ids: list[int] = [0] * len(rows)
    left = list(range(len(rows)))
    while left:
        now: dict[str, int] = {}
        later: list[int] = []
        for index in left:
            conversation_id = rows[index]["conversation_id"]
            if conversation_id in now:
                later.append(index)
            else:
                now[conversation_id] = index
        added = _execute_per_row(session, _NEW_MESSAGES, [rows[i] for i in now.values()])
        for message_id, conversation_id in added:
            ids[now[conversation_id]] = message_id
        left = later
    return ids


_OUTBOUND_COLUMNS = [c.key for c in Message.__table__.columns if c.key != "id"]


def insert_outbound(session: Session, messages: Sequence[Message]) -> None:
    """Store new outbound messages (built with ``service.new_outbound``) in bulk; sets their ids."""
    rows = [{key: getattr(m, key) for key in _OUTBOUND_COLUMNS} for m in messages]
    for message, message_id in zip(messages, insert_messages(session, rows), strict=True):
        message.id = message_id


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
        _execute_per_row(session, _LINK_MESSAGE, [{"item_id": i, "linked_message": m} for i, m in links])


def _touch_last_inbound(session: Session, last_inbound: dict[str, dt.datetime]) -> None:
    """Record when each conversation's citizen last wrote (Messenger's reply window counts from it)."""
    if last_inbound:
        _execute_per_row(
            session,
            _TOUCH_INBOUND,
            # In id order, as the pipeline locks them: no deadlock between transactions.
            [{"conversation_id": c, "at": at} for c, at in sorted(last_inbound.items())],
        )


async def find_work_item(session: AsyncSession, channel: str, dedupe_key: str) -> WorkItem | None:
    return await session.scalar(
        select(WorkItem).where(WorkItem.channel == channel, WorkItem.dedupe_key == dedupe_key)
    )


_older_item = aliased(WorkItem, name="older_item")
_CLAIM_WORK = _claim_statements(
    WorkItem,
    select(WorkItem.id)
    .where(
        WorkItem.status == WorkStatus.PENDING,
        ~exists().where(
            _older_item.conversation_id == WorkItem.conversation_id,
            _older_item.id < WorkItem.id,
            _older_item.status.in_([WorkStatus.PENDING, WorkStatus.PROCESSING]),
        ),
    )
    .order_by(WorkItem.id)
    .limit(bindparam("limit")),
    {
        "status": WorkStatus.PROCESSING,
        "locked_by": bindparam("owner"),
        "lease_until": bindparam("until"),
        "attempts": WorkItem.attempts + 1,
    },
    WorkItem.status == WorkStatus.PENDING,
)


def claim_work_items(session: Session, worker_id: str, limit: int, lease_until: dt.datetime) -> list[int]:
    """Lease the oldest pending items whose conversation has nothing older unfinished."""
    return _claim(session, _CLAIM_WORK, limit=limit, owner=worker_id, until=lease_until)


_FINISH_WORK = (
    update(WorkItem)
    .where(
        WorkItem.id.in_(bindparam("ids", expanding=True)),
        WorkItem.locked_by == bindparam("owner"),
        WorkItem.status == WorkStatus.PROCESSING,
    )
    .values(status=WorkStatus.DONE, finished_at=bindparam("now"), lease_until=None)
    .returning(WorkItem.id)
    .execution_options(synchronize_session=False)
)


def finish_work_items(
    session: Session, item_ids: Sequence[int], worker_id: str, now: dt.datetime
) -> set[int]:
    """Mark done those this worker still holds the lease of (others were taken over); their ids."""
    result = session.scalars(_FINISH_WORK, {"ids": list(item_ids), "owner": worker_id, "now": now})
    return set(result.all())


def finish_work_item(session: Session, item_id: int, worker_id: str, now: dt.datetime) -> bool:
    """Mark done only if this worker still holds the lease (else another worker took it over)."""
    return bool(finish_work_items(session, [item_id], worker_id, now))


def release_expired_leases(session: Session, now: dt.datetime) -> int:
    result = session.execute(
        update(WorkItem)
        .where(WorkItem.status == WorkStatus.PROCESSING, WorkItem.lease_until < now)
        .values(status=WorkStatus.PENDING, locked_by=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def renew_work_leases(session: Session, owner: str, ids: Sequence[int], lease_until: dt.datetime) -> None:
    """Extend the leases ``owner`` still holds on items it is handling."""
    session.execute(
        update(WorkItem)
        .where(WorkItem.id.in_(ids), WorkItem.locked_by == owner, WorkItem.status == WorkStatus.PROCESSING)
        .values(lease_until=lease_until)
        .execution_options(synchronize_session=False)
    )


def renew_delivery_leases(session: Session, owner: str, ids: Sequence[int], lease_until: dt.datetime) -> None:
    """Extend the leases ``owner`` still holds on messages it is sending (not once an outcome is recorded)."""
    session.execute(
        update(Message)
        .where(
            Message.id.in_(ids),
            Message.delivery_locked_by == owner,
            Message.delivery_lease_until.is_not(None),
        )
        .values(delivery_lease_until=lease_until)
        .execution_options(synchronize_session=False)
    )


def release_work_item(
    session: Session, item_id: int, owner: str, error: str, max_attempts: int
) -> str | None:
    """Give a crashed item back to the queue, or mark it failed after ``max_attempts``; its new status."""
    result = session.execute(
        update(WorkItem)
        .where(WorkItem.id == item_id, WorkItem.locked_by == owner, WorkItem.status == WorkStatus.PROCESSING)
        .values(
            status=case((WorkItem.attempts >= max_attempts, WorkStatus.FAILED), else_=WorkStatus.PENDING),
            locked_by=None,
            lease_until=None,
            error=error,
        )
        .returning(WorkItem.status)
    )
    return result.scalar_one_or_none()


def release_held(session: Session, owner_pattern: str = "%") -> int:
    """Give back every item and send held by owners matching ``owner_pattern`` (SQL ``LIKE``)."""
    result = session.execute(
        update(WorkItem)
        .where(WorkItem.status == WorkStatus.PROCESSING, WorkItem.locked_by.like(owner_pattern))
        .values(status=WorkStatus.PENDING, locked_by=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Message)
        # Only pending messages hold a lease; the status lets SQLite search an index, not scan.
        .where(
            Message.delivery_status == DeliveryStatus.PENDING, Message.delivery_locked_by.like(owner_pattern)
        )
        .values(delivery_lease_until=None, delivery_locked_by=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def count_pending_work(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(WorkItem)
            .where(WorkItem.status.in_([WorkStatus.PENDING, WorkStatus.PROCESSING]))
        )
        or 0
    )


_older_message = aliased(Message, name="older_message")
_CLAIM_DELIVERY = _claim_statements(
    Message,
    select(Message.id)
    .where(
        Message.direction == "out",
        Message.delivery_status == DeliveryStatus.PENDING,
        Message.next_attempt_at <= bindparam("now"),
        Message.delivery_lease_until.is_(None) | (Message.delivery_lease_until < bindparam("now")),
        ~exists().where(
            _older_message.conversation_id == Message.conversation_id,
            _older_message.id < Message.id,
            _older_message.direction == "out",
            _older_message.delivery_status == DeliveryStatus.PENDING,
        ),
    )
    .order_by(Message.id)
    .limit(bindparam("limit")),
    {"delivery_lease_until": bindparam("until"), "delivery_locked_by": bindparam("owner")},
)


def claim_delivery_head(
    session: Session, worker_id: str, now: dt.datetime, lease_until: dt.datetime, limit: int
) -> list[int]:
    """Lease the first undelivered outbound message of conversations ready to send."""
    return _claim(session, _CLAIM_DELIVERY, limit=limit, now=now, owner=worker_id, until=lease_until)


_WITH_PENDING_OUTBOUND = (
    select(Message.conversation_id)
    .where(
        Message.conversation_id.in_(bindparam("ids", expanding=True)),
        Message.direction == "out",
        Message.delivery_status == DeliveryStatus.PENDING,
    )
    .distinct()
)
_WITH_PENDING_WORK = (
    select(WorkItem.conversation_id)
    .where(
        WorkItem.conversation_id.in_(bindparam("ids", expanding=True)), WorkItem.status == WorkStatus.PENDING
    )
    .distinct()
)


def with_pending_outbound(session: Session, conversation_ids: Sequence[str]) -> set[str]:
    """Those of the conversations that have an undelivered outbound message."""
    rows = session.scalars(_WITH_PENDING_OUTBOUND, {"ids": list(conversation_ids)})
    return set(rows.all())


def with_pending_work(session: Session, conversation_ids: Sequence[str]) -> set[str]:
    """Those of the conversations that have an event waiting to be handled."""
    rows = session.scalars(_WITH_PENDING_WORK, {"ids": list(conversation_ids)})
    return {c for c in rows.all() if c is not None}


def following_pending_outbound(
    session: Session, head: Message, now: dt.datetime, limit: int
) -> Sequence[Message]:
    """Outbound messages right after ``head`` that may go in the same send call."""
    if limit <= 0:
        return []
    rows = session.scalars(
        select(Message)
        .where(
            Message.conversation_id == head.conversation_id,
            Message.id > head.id,
            Message.direction == "out",
            Message.delivery_status == DeliveryStatus.PENDING,
        )
        .order_by(Message.id)
        .limit(limit)
    )
    return [m for m in rows if m.next_attempt_at is not None and m.next_attempt_at <= now]


async def list_messages(
    session: AsyncSession, conversation_id: str, after_id: int | None = None
) -> Sequence[Message]:
    stmt = select(Message).where(Message.conversation_id == conversation_id)
    if after_id is not None:
        stmt = stmt.where(Message.id > after_id)
    return (await session.scalars(stmt.order_by(Message.id))).all()


def waiting_position(session: Session, conversation: Conversation) -> int:
    """1-based place in its department's queue, oldest first."""
    assert conversation.waiting_since is not None
    ahead = session.scalar(
        select(func.count())
        .select_from(Conversation)
        .where(
            Conversation.state == ConversationState.WAITING,
            Conversation.department == conversation.department,
            Conversation.waiting_since < conversation.waiting_since,
        )
    )
    return int(ahead or 0) + 1


def count_waiting(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(Conversation.state == ConversationState.WAITING)
        )
        or 0
    )


_WORK_ITEMS_WITH_CHATS = (
    select(WorkItem, Conversation, Citizen)
    .join(Conversation, Conversation.id == WorkItem.conversation_id)
    .join(Citizen, Citizen.id == Conversation.citizen_id)
    .where(WorkItem.id.in_(bindparam("ids", expanding=True)))
    .order_by(WorkItem.id)
)
_LOCK_CONVERSATIONS = (
    select(Conversation)
    .where(Conversation.id.in_(bindparam("ids", expanding=True)))
    .order_by(Conversation.id)  # locked in id order, as intake updates them: no deadlock
    .with_for_update(key_share=True)  # FOR NO KEY UPDATE: new messages may still refer to them
)
_MESSAGES_BY_ID = select(Message).where(Message.id.in_(bindparam("ids", expanding=True)))
_MARK_SENT = (
    update(Message)
    .where(Message.id.in_(bindparam("ids", expanding=True)))
    .values(
        delivery_status=DeliveryStatus.SENT,
        delivered_via=bindparam("via"),
        delivery_attempts=Message.delivery_attempts + 1,
        delivery_lease_until=None,
        delivery_error=None,
    )
    .execution_options(synchronize_session=False)
)


def work_items_with_chats(
    session: Session, item_ids: Sequence[int]
) -> Sequence[Row[WorkItem, Conversation, Citizen]]:
    """The items (in id order) with their conversations and citizens; deleted chats are left out."""
    return (session.execute(_WORK_ITEMS_WITH_CHATS, {"ids": list(item_ids)})).all()


def lock_conversations(session: Session, conversation_ids: Sequence[str]) -> dict[str, Conversation]:
    """Load and lock the conversations for the rest of the transaction, by id."""
    return {c.id: c for c in session.scalars(_LOCK_CONVERSATIONS, {"ids": list(conversation_ids)})}


def messages_by_id(session: Session, message_ids: Sequence[int]) -> dict[int, Message]:
    return {m.id: m for m in session.scalars(_MESSAGES_BY_ID, {"ids": list(message_ids)})}


def mark_sent(session: Session, message_ids: Sequence[int], via: str | None) -> None:
    """Record outbound messages as delivered (``via``: reply, push, ...), one attempt more each."""
    session.execute(_MARK_SENT, {"ids": list(message_ids), "via": via})
