"""Deliver queued outbound messages through their channel, in order, with retries.

Outbound ``messages`` rows are the outbox. A sender leases the first undelivered message of
a conversation (nothing later in that conversation can overtake it), sends it together with
the pending messages right after it, and records the outcome: sent, retry later with
back-off (429/5xx), or failed after ``delivery_max_seconds`` or a final error.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.conversations import outbox
from app.conversations.models import Citizen, Conversation, DeliveryStatus, Message
from app.conversations.pacing import gather_one_per_turn
from app.conversations.schemas import message_event
from app.db.schema import utcnow
from app.db.transactions import Transactions
from app.events import EventBus
from app.metrics import Metrics
from channels.base import (
    ChannelAdapter,
    FaqCard,
    FinalSendError,
    OutboundMessage,
    RetryableSendError,
    SendResult,
)

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 300.0


@dataclass(frozen=True)
class _Sent:
    """A successful send, to be recorded together with others."""

    messages: Sequence[Message]
    results: Sequence[SendResult]
    channel: str


@dataclass(frozen=True)
class Leased:
    """Outbound messages of one conversation whose first one is leased to this worker, in order."""

    messages: list[Message]
    conversation: Conversation
    citizen: Citizen


class Deliverer:
    def __init__(
        self,
        transactions: Transactions,
        adapters: Mapping[str, ChannelAdapter],
        bus: EventBus,
        metrics: Metrics,
        *,
        max_seconds: float,
        base_backoff: float,
        lease_seconds: float,
    ) -> None:
        self.transactions = transactions
        self.adapters = adapters
        self.bus = bus
        self.metrics = metrics
        self.max_seconds = max_seconds
        self.base_backoff = base_backoff
        self.lease_seconds = lease_seconds

    async def claim(self, worker_id: str, limit: int) -> list[int]:
        now = utcnow()
        until = now + dt.timedelta(seconds=self.lease_seconds)
        return await self.transactions.run_autocommit(
            lambda session: outbox.claim_delivery_head(session, worker_id, now, until, limit)
        )

    async def deliver(self, head_id: int, worker_id: str) -> bool:
        """Send a claimed head message (and those right after it); True if the conversation has more to send."""
        leased = await self.transactions.run_autocommit(
            lambda session: self._leased(session, head_id, worker_id)
        )
        return await self.send(leased) if leased is not None else False

    def _leased(self, session: Session, head_id: int, worker_id: str) -> Leased | None:
        """The head message, if still leased to ``worker_id``, and the pending ones right after it."""
        row = session.execute(
            select(Message, Conversation, Citizen)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .join(Citizen, Citizen.id == Conversation.citizen_id)
            .where(Message.id == head_id)
        ).one_or_none()
        if row is None:
            return None
        head, conversation, citizen = row
        if head.delivery_status != DeliveryStatus.PENDING or head.delivery_locked_by != worker_id:
            return None
        adapter = self.adapters.get(conversation.channel)
        batch_size = adapter.max_batch if adapter else 1
        following = outbox.following_pending_outbound(session, head, utcnow(), batch_size - 1)
        return Leased([head, *following], conversation, citizen)

    async def send(self, leased: Leased) -> bool:
        """Send in one call as many as the channel takes; record the outcome. True if more are left to send."""
        return await self.send_all([leased])

    async def send_all(self, batch: Sequence[Leased]) -> bool:
        """Send several conversations' messages side by side; what was sent is recorded in one transaction."""
        attempts = await gather_one_per_turn(self._attempt(leased) for leased in batch)
        # What went out is recorded even if another conversation's attempt failed unexpectedly:
        # unrecorded, it would be sent again once its lease expired.
        sent = [attempt for attempt in attempts if isinstance(attempt, _Sent)]
        more = await self._record_sent(sent) if sent else False
        for attempt in attempts:
            if isinstance(attempt, BaseException):
                raise attempt
        return more or any(attempt is True for attempt in attempts)

    async def _attempt(self, leased: Leased) -> _Sent | bool:
        """Send; a failure is recorded at once (True: the conversation has more to send), a success returned."""
        conversation, citizen = leased.conversation, leased.citizen
        adapter = self.adapters.get(conversation.channel)
        batch = leased.messages[: adapter.max_batch if adapter else 1]
        if adapter is None:
            reason = f"channel {conversation.channel} is not configured"
            return await self._record_failure(batch, reason, citizen.id, conversation.channel)
        if not citizen.active:
            reason = "citizen unfollowed or blocked the account"
            return await self._record_failure(batch, reason, citizen.id, conversation.channel)
        outbound = [_to_outbound(m, citizen, conversation) for m in batch]
        try:
            results = await adapter.send(outbound)
        except RetryableSendError as error:
            await self._record_retry(batch, error, conversation.channel)
            return False  # the rest of the conversation waits behind the retry
        except FinalSendError as error:
            return await self._record_failure(
                batch, error.reason, citizen.id, conversation.channel, unreachable=error.user_unreachable
            )
        except Exception as error:  # an adapter bug must not lose the message: retry, bounded by time
            log.exception("delivery_adapter_error", extra={"channel": conversation.channel})
            await self._record_retry(
                batch, RetryableSendError(f"adapter error: {type(error).__name__}"), conversation.channel
            )
            return False
        return _Sent(batch, results, conversation.channel)

    async def _record_sent(self, sent: Sequence[_Sent]) -> bool:
        """One ``UPDATE`` per way of sending (usually one); events are built from the batch.

        True if a conversation has more to send (queued while this batch was on its way).
        """
        by_via: dict[str | None, list[int]] = {}
        for attempt in sent:
            via = {r.message_id: r.via for r in attempt.results}
            for message in attempt.messages:
                message.delivered_via = via.get(str(message.id))
                by_via.setdefault(message.delivered_via, []).append(message.id)
        conversation_ids = sorted({attempt.messages[0].conversation_id for attempt in sent})

        def record(session: Session) -> set[str]:
            for delivered_via, ids in by_via.items():
                outbox.mark_sent(session, ids, delivered_via)
            return outbox.with_pending_outbound(session, conversation_ids)

        more = await self.transactions.run_autocommit(record)
        for attempt in sent:
            for message in attempt.messages:  # detached copies, updated to what was just stored
                message.delivery_status = DeliveryStatus.SENT
                message.delivery_attempts += 1
                message.delivery_lease_until = None
                message.delivery_error = None
                self.metrics.messages_out.labels(attempt.channel, message.delivered_via or "send").inc()
            await self._publish_rows(attempt.messages)
        return bool(more)

    async def _record_retry(self, batch: Sequence[Message], error: RetryableSendError, channel: str) -> None:
        now = utcnow()

        def record(session: Session) -> int:
            given_up = 0
            for message in batch:
                row = session.get(Message, message.id)
                assert row is not None
                row.delivery_attempts += 1
                row.delivery_error = error.reason
                row.delivery_lease_until = None
                delay = min(error.retry_after or self._backoff(row.delivery_attempts), MAX_BACKOFF_SECONDS)
                # Give up now rather than wait past the budget (a long Retry-After must be respected).
                if (now - row.created_at).total_seconds() + delay > self.max_seconds:
                    row.delivery_status = DeliveryStatus.FAILED
                    given_up += 1
                    continue
                row.next_attempt_at = now + dt.timedelta(seconds=delay)
            return given_up

        given_up = await self.transactions.run(record)
        if given_up:
            self.metrics.delivery_failures.labels(channel, "gave_up").inc(given_up)
        self.metrics.delivery_retries.labels(channel).inc()
        log.info("delivery_retry", extra={"messages": [m.id for m in batch], "reason": error.reason})
        await self._publish(batch)

    async def _record_failure(
        self,
        batch: Sequence[Message],
        reason: str,
        citizen_id: str,
        channel: str,
        *,
        unreachable: bool = False,
    ) -> bool:
        """Mark the batch failed; True if the conversation has more to send (no longer held up)."""

        def record(session: Session) -> set[str]:
            for message in batch:
                row = session.get(Message, message.id)
                assert row is not None
                row.delivery_status = DeliveryStatus.FAILED
                row.delivery_error = reason
                row.delivery_attempts += 1
                row.delivery_lease_until = None
            if unreachable:
                citizen = session.get(Citizen, citizen_id)
                if citizen is not None:
                    citizen.unreachable_reason = reason[:200]  # the column holds 200
            return outbox.with_pending_outbound(session, [batch[0].conversation_id])

        more = await self.transactions.run(record)
        self.metrics.delivery_failures.labels(channel, "final").inc()
        log.warning("delivery_failed", extra={"messages": [m.id for m in batch], "reason": reason})
        await self._publish(batch)
        return bool(more)

    async def _publish(self, batch: Sequence[Message]) -> None:
        ids = [m.id for m in batch]
        rows = await self.transactions.run_autocommit(
            lambda session: session.scalars(select(Message).where(Message.id.in_(ids))).all()
        )
        await self._publish_rows(rows)

    async def _publish_rows(self, rows: Sequence[Message]) -> None:
        for row in rows:
            event = message_event(row)
            event["type"] = "delivery"
            await self.bus.publish(f"conversation:{row.conversation_id}", event)

    def _backoff(self, attempts: int) -> float:
        """Exponential with full jitter: no tight retry loops, no thundering herd after an outage."""
        ceiling = min(MAX_BACKOFF_SECONDS, self.base_backoff * 2 ** max(attempts - 1, 0))
        return random.uniform(ceiling / 2, ceiling)


def _to_outbound(message: Message, citizen: Citizen, conversation: Conversation) -> OutboundMessage:
    faq = (message.extra or {}).get("faq")
    return OutboundMessage(
        message_id=str(message.id),
        conversation_id=conversation.id,
        user_id=citizen.external_id,
        text=message.text or "",
        sender=message.sender,
        quick_replies=tuple(message.quick_replies or ()),
        faq=FaqCard(faq["faq_id"], faq["title"], faq["source_url"]) if faq else None,
        retry_key=_retry_key(message),
        reply_context=message.reply_context,
        last_inbound_at=conversation.last_inbound_at,
    )


def _retry_key(message: Message) -> str:
    """A UUID stable per message (LINE wants a UUID for ``X-Line-Retry-Key``)."""
    return str(
        uuid.uuid5(uuid.NAMESPACE_URL, f"govchat:message:{message.id}:{message.created_at.isoformat()}")
    )
