"""Store accepted inbound events durably, once each, before the webhook answers.

``queue_inbound`` queues a batch in a few statements whatever its size (on PostgreSQL
usually one, sent outside a transaction). ``GroupCommit`` lets concurrent webhook requests
share one commit: each request still gets its answer only after its own events are
committed, but under load one commit serves many messages.
The statements are sync, so that a transaction of them can run whole in one call
(``app.db.transactions.Transactions``); ``store_inbound_batch`` runs them in an async session.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.conversations import intake_store
from app.conversations.models import Sender, WorkStatus
from app.db.schema import utcnow
from app.db.transactions import Transactions
from channels.base import InboundKind, InboundMessage

log = logging.getLogger(__name__)
# Intake transactions start at most this often. On SQLite a transaction commits at once, so
# without a pause concurrent webhooks rarely share one (1.4 messages a transaction at 360/s,
# a quarter of the hub's CPU). A 10 ms pause gathers about 5 messages a transaction, which
# saves about 15% of the hub's CPU per message, and on PostgreSQL (two hubs, 270/s) about
# 40% of the ack p99 (benchmarks/load.py). Each ack waits 10 ms at most for it.
COMMIT_INTERVAL_SECONDS = 0.01

# Kinds that carry something the citizen said or sent: kept as a message in the transcript.
_TRANSCRIPT_KINDS = frozenset({InboundKind.TEXT, InboundKind.ATTACHMENT, InboundKind.POSTBACK})


@dataclass(frozen=True)
class Accepted:
    work_item_id: int | None  # None: a redelivery of something already stored
    message_id: int | None
    conversation_id: str | None


_INBOUND_FIELDS = [f.name for f in dataclasses.fields(InboundMessage)]


def inbound_to_payload(inbound: InboundMessage) -> dict[str, Any]:
    """What the worker needs of the event later, as JSON."""
    data = {name: getattr(inbound, name) for name in _INBOUND_FIELDS}
    for key, value in data.items():
        if isinstance(value, dt.datetime):
            data[key] = value.isoformat()
    data["attachments"] = [dataclasses.asdict(a) for a in inbound.attachments]
    data["extra"] = dict(inbound.extra)
    return data


async def store_inbound_batch(
    session: AsyncSession,
    batch: Sequence[InboundMessage],
    client_message_ids: Sequence[str | None] | None = None,
) -> list[Accepted]:
    """``queue_inbound`` in the caller's async transaction."""
    return await session.run_sync(queue_inbound, batch, client_message_ids)


def queue_inbound(
    session: Session,
    batch: Sequence[InboundMessage],
    client_message_ids: Sequence[str | None] | None = None,
) -> list[Accepted]:
    """Queue events, and the transcript messages of those a citizen said, in the caller's transaction.

    An event whose ``(channel, dedupe_key)`` was stored before, or comes earlier in ``batch``,
    is a redelivery: it gets ``Accepted(None, None, ...)`` and nothing is stored for it.
    """
    if not batch:
        return []
    client_ids = list(client_message_ids or [None] * len(batch))
    received = utcnow()
    chat_of = [(inbound.channel.value, inbound.user_id) for inbound in batch]
    first_of_key: dict[intake_store.EventKey, int] = {}
    for index, inbound in enumerate(batch):
        first_of_key.setdefault((inbound.channel.value, inbound.dedupe_key), index)
    events = [
        intake_store.NewEvent(
            chat_of[i],
            _work_item_row(batch[i], received),
            _message_row(batch[i], client_ids[i]) if batch[i].kind in _TRANSCRIPT_KINDS else None,
        )
        for i in first_of_key.values()
    ]
    queued = intake_store.queue_events(session, set(chat_of), events)
    accepted = []
    for index, inbound in enumerate(batch):
        key = (inbound.channel.value, inbound.dedupe_key)
        item_id, message_id = (
            queued.items.get(key, (None, None)) if first_of_key[key] == index else (None, None)
        )
        accepted.append(Accepted(item_id, message_id, queued.conversations[chat_of[index]]))
    return accepted


async def store_inbound(
    session: AsyncSession, inbound: InboundMessage, client_message_id: str | None = None
) -> Accepted:
    """Queue one event (and its transcript message) in the caller's transaction."""
    return (await store_inbound_batch(session, [inbound], [client_message_id]))[0]


def _work_item_row(inbound: InboundMessage, now: dt.datetime) -> dict[str, Any]:
    ignored = inbound.kind == InboundKind.IGNORED
    return {
        "channel": inbound.channel.value,
        "dedupe_key": inbound.dedupe_key,
        "kind": inbound.kind.value,
        "event_type": inbound.event_type,
        "payload": inbound_to_payload(inbound),
        "status": WorkStatus.DONE if ignored else WorkStatus.PENDING,
        "attempts": 0,
        "received_at": now,
        "finished_at": now if ignored else None,
    }


def _message_row(inbound: InboundMessage, client_message_id: str | None) -> dict[str, Any]:
    attachments = [dataclasses.asdict(a) for a in inbound.attachments]
    return {
        "direction": "in",
        "sender": Sender.CITIZEN,
        "text": inbound.text,
        "quick_replies": [],
        "extra": {"attachments": attachments} if attachments else {},
        "client_message_id": client_message_id,
        "external_id": inbound.external_message_id,
        "delivery_attempts": 0,
    }


@dataclass
class _Request:
    events: list[InboundMessage]
    done: asyncio.Future[list[Accepted]]


class GroupCommit:
    """Stores the event batches of concurrent requests in shared transactions.

    After a quiet spell a request's transaction starts at once. Transactions start at most one
    per ``interval``: requests that arrive meanwhile, or while one commits, go together in the
    next (up to ``max_events``). If a shared transaction fails, each of its requests is
    retried alone, so one request's failure is its own.
    """

    def __init__(
        self, transactions: Transactions, max_events: int = 500, interval: float = COMMIT_INTERVAL_SECONDS
    ) -> None:
        self.transactions = transactions
        self.max_events = max_events
        self.interval = interval
        self._waiting: deque[_Request] = deque()
        self._committer: asyncio.Task[None] | None = None
        self._last_start = -math.inf

    async def store(self, events: list[InboundMessage]) -> list[Accepted]:
        request = _Request(events, asyncio.get_running_loop().create_future())
        self._waiting.append(request)
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_waiting())
        return await request.done

    async def _commit_waiting(self) -> None:
        group: list[_Request] = []
        try:
            while self._waiting:
                await self._after_interval()
                group = self._take_group()
                try:
                    results = await self._store_together(group)
                except Exception as error:
                    await self._store_alone(group, error)
                    continue
                for request, accepted in zip(group, results, strict=True):
                    _settle(request, accepted)
        finally:  # cancelled at shutdown: nobody may wait forever
            for request in [*group, *self._waiting]:
                _settle(request, error=RuntimeError("intake stopped"))
            self._waiting.clear()

    async def _after_interval(self) -> None:
        """Wait until ``interval`` has passed since the last transaction started (at once after a quiet spell)."""
        loop = asyncio.get_running_loop()
        pause = self._last_start + self.interval - loop.time()
        if pause > 0:
            await asyncio.sleep(pause)
        self._last_start = loop.time()

    async def _store_alone(self, group: list[_Request], error: Exception) -> None:
        """After a shared transaction failed: each request in its own, so a failure stays its own."""
        if len(group) == 1:
            _settle(group[0], error=error)
            return
        log.warning("group_commit_failed_retrying_alone", extra={"requests": len(group)})
        for request in group:
            try:
                _settle(request, (await self._store_together([request]))[0])
            except Exception as alone_error:
                _settle(request, error=alone_error)

    def _take_group(self) -> list[_Request]:
        group: list[_Request] = []
        events = 0
        while self._waiting and (not group or events + len(self._waiting[0].events) <= self.max_events):
            request = self._waiting.popleft()
            group.append(request)
            events += len(request.events)
        return group

    async def _store_together(self, group: list[_Request]) -> list[list[Accepted]]:
        events = [event for request in group for event in request.events]
        # Each event is stored whole or not at all without a transaction around the batch: on
        # PostgreSQL the batch then costs one round trip (see ``intake_store.queue_events``).
        accepted = await self.transactions.run_autocommit(lambda session: queue_inbound(session, events))
        results, start = [], 0
        for request in group:
            results.append(accepted[start : start + len(request.events)])
            start += len(request.events)
        return results


def _settle(
    request: _Request, accepted: list[Accepted] | None = None, *, error: BaseException | None = None
) -> None:
    if request.done.done():  # the client went away; what was stored stays stored
        return
    if error is not None:
        request.done.set_exception(error)
    else:
        request.done.set_result(accepted or [])
