"""The bot's side of a conversation: handle queued events, each exactly once.

A worker has leased a batch of items, at most one per conversation, each decoded once into an
``InboundEvent``. The NLU runs outside any transaction (``understanding.py``); then one
transaction re-reads the conversations, checks the leases are still ours, stores each
decision, its replies and state change (``bot_replies.py``), and marks the items done. A
crash before that commit leaves the items queued (their leases expire and another worker
takes them). The transactions are sync units of work (``app.db.Transactions``): on SQLite
each runs in one call, and may run a second time if SQLite's lock was taken, so a unit only
assigns what it produces; metrics are counted once it has committed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.complaints import service as complaints
from app.complaints.notifications import release_held
from app.conversations import chats, outbox, transcript, work_queue
from app.conversations.bot_replies import BotReplies
from app.conversations.delivery import Leased
from app.conversations.flows import Flows
from app.conversations.inbound import InboundEvent, postback_readings
from app.conversations.models import Citizen, Conversation, ConversationState, Message
from app.conversations.pacing import gather_one_per_turn
from app.conversations.policy import DecisionPolicy, EscalationReason
from app.conversations.schemas import message_event
from app.conversations.understanding import AttachmentFetcher, Turn, Understanding
from app.db.schema import utcnow
from app.db.transactions import Transactions
from app.events import EventBus
from app.metrics import Metrics
from channels.base import ChannelAdapter
from knowledge_base.conversation import Responses
from knowledge_base.loader import KnowledgeBaseStore
from nlu.client import NluClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Handled:
    """What the worker does next, once the item is finished."""

    deliver_now: Leased | None = None  # the new replies, the first leased to this worker: send them now
    more_replies: bool = False  # replies left for the delivery claimer (an older one is still pending)
    more_work: bool = False  # a later event of the same conversation is waiting


@dataclass
class _InBatch:
    """One leased item of a batch, and what its turn stored."""

    event: InboundEvent
    citizen: Citizen
    turn: Turn
    conversation: Conversation | None = None  # as locked in the batch's transaction
    published: list[Message] = dataclasses.field(default_factory=list)  # the citizen's message, replies
    send_now: bool = False  # the first reply is leased to this worker
    queue_changed: bool = False  # the conversation is, or was, waiting for an officer
    escalated: bool = False  # this turn put the conversation in an officer queue
    filed: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # a case filed: for consoles
    more_work: bool = False

    @property
    def item_id(self) -> int:
        return self.event.item_id

    @property
    def conversation_id(self) -> str:
        return self.event.conversation_id

    @property
    def replies(self) -> list[Message]:
        return [m for m in self.published if m.direction == "out"]

    @property
    def handled(self) -> Handled:
        assert self.conversation is not None
        return Handled(
            deliver_now=Leased(self.replies, self.conversation, self.citizen) if self.send_now else None,
            more_replies=bool(self.replies) and not self.send_now,
            more_work=self.more_work,
        )


class Pipeline:
    def __init__(
        self,
        transactions: Transactions,
        policy: DecisionPolicy,
        nlu: NluClient,
        kb_store: KnowledgeBaseStore,
        responses: Responses,
        bus: EventBus,
        metrics: Metrics,
        *,
        adapters: Mapping[str, ChannelAdapter] | None = None,
        case_pin_key: str,
        processing_hint_seconds: float = 0.5,
        lease_seconds: float = 60.0,
    ) -> None:
        self.transactions = transactions
        self.bus = bus
        self.metrics = metrics
        self.adapters = adapters or {}
        self.lease_seconds = lease_seconds
        self.postback_readings = postback_readings(responses)
        self.flows = Flows(responses, policy, lambda: kb_store.current, pin_key=case_pin_key)
        self.understanding = Understanding(
            policy, nlu, self.flows, metrics, self.adapters, processing_hint_seconds
        )
        self.bot_replies = BotReplies(policy, self.flows, kb_store, responses)

    @property
    def nlu(self) -> NluClient:
        return self.understanding.nlu

    @nlu.setter
    def nlu(self, nlu: NluClient) -> None:
        """Tests put a slow or failing NLU in front of the real one."""
        self.understanding.nlu = nlu

    async def handle(self, item_id: int, worker_id: str) -> Handled | None:
        """Handle a leased item; None when the lease was lost to another worker."""
        return (await self.handle_batch([item_id], worker_id))[item_id]

    async def handle_batch(self, item_ids: Sequence[int], worker_id: str) -> dict[int, Handled | None]:
        """Handle leased items of different conversations together: one read, one transaction.

        What each item's turn does is the same as alone; only the database round trips are
        shared. None for an item whose lease was lost to another worker.
        """
        rows = await self.transactions.run_autocommit(
            lambda session: work_queue.work_items_with_chats(session, item_ids)
        )
        results: dict[int, Handled | None] = {}
        for item_id in set(item_ids) - {item.id for item, _, _ in rows}:  # its conversation was deleted
            results[item_id] = Handled() if await self._finish_only(item_id, worker_id) else None
        if not rows:
            return results
        # Every turn runs to its end before a failure is raised: none is left running unattended
        # while the worker retries the items one by one.
        events = [InboundEvent.decode(item, self.postback_readings) for item, _, _ in rows]
        prepared = await gather_one_per_turn(
            self.understanding.prepare(event, conversation)
            for event, (_, conversation, _) in zip(events, rows, strict=True)
        )
        turns = [_result(p) for p in prepared]
        batch = [
            _InBatch(event, citizen, turn)
            for event, (_, _, citizen), turn in zip(events, rows, turns, strict=True)
        ]
        held = await self.transactions.run(lambda session: self._store_batch(session, batch, worker_id))
        for lost in [b.item_id for b in batch if b.item_id not in held]:
            results[lost] = None
            log.warning("work_item_lease_lost", extra={"item": lost, "worker": worker_id})
        batch = [b for b in batch if b.item_id in held]
        for b in batch:
            results[b.item_id] = b.handled
        await self._announce(batch)
        return results

    def _store_batch(self, session: Session, batch: list[_InBatch], worker_id: str) -> set[int]:
        """The batch's transaction: finish the items still leased to us and store their turns; their ids."""
        held = work_queue.finish_work_items(session, [b.item_id for b in batch], worker_id, utcnow())
        if held:
            self._store_turns(session, [b for b in batch if b.item_id in held], worker_id)
        return held

    def _store_turns(self, session: Session, batch: list[_InBatch], worker_id: str) -> None:
        """Apply each item's turn in the batch's transaction; fills in what each one published."""
        conversation_ids = sorted({b.conversation_id for b in batch})
        current = chats.lock_conversations(session, conversation_ids)
        # Complaint updates Messenger did not allow before the citizen wrote again go first.
        release_held(session, [current[b.conversation_id] for b in batch if b.event.message_id])
        older_reply_pending = outbox.with_pending_outbound(session, conversation_ids)
        inbound_by_id = transcript.messages_by_id(
            session, [b.event.message_id for b in batch if b.event.message_id]
        )
        for b in batch:
            b.conversation = conversation = current[b.conversation_id]
            state_before = conversation.state
            inbound = inbound_by_id.get(b.event.message_id) if b.event.message_id else None
            b.published = self.bot_replies.store_turn(session, b.event, inbound, conversation, b.turn)
            b.send_now = bool(b.replies) and conversation.id not in older_reply_pending
            if b.send_now:
                self._lease_to(b.replies[0], worker_id)
            waiting = conversation.state == ConversationState.WAITING
            b.queue_changed = waiting or state_before == ConversationState.WAITING
            b.escalated = waiting and state_before == ConversationState.BOT
            if b.escalated and conversation.escalation_reason == EscalationReason.COMPLAINT:
                filed = complaints.open_cases_of_conversation(session, conversation.id)[:1]  # newest first
                b.filed = [complaints.case_event("complaint_filed", case) for case in filed]
        transcript.insert_outbound(session, [m for b in batch for m in b.replies])
        session.flush()
        later_work = work_queue.with_pending_work(session, conversation_ids)
        for b in batch:
            b.more_work = b.conversation_id in later_work

    async def _announce(self, batch: list[_InBatch]) -> None:
        """After the commit: metrics, deleting unsent attachments, events for officers and web chat."""
        departments: set[str] = set()
        for b in batch:
            self.metrics.reply_latency.observe((utcnow() - b.event.received_at).total_seconds())
            if b.turn.decided and b.turn.decision is not None:
                self.metrics.decisions.labels(b.turn.decision.action).inc()
            if b.escalated and b.conversation is not None:
                conversation = b.conversation
                self.metrics.escalations.labels(conversation.department, conversation.escalation_reason).inc()
            fetcher = self.adapters.get(b.event.channel)
            if b.turn.discarded and isinstance(fetcher, AttachmentFetcher):
                await fetcher.discard_attachments(b.turn.discarded)
            for message in b.published:
                await self.bus.publish(f"conversation:{message.conversation_id}", message_event(message))
            for event in b.filed:
                await self.bus.publish(complaints.complaints_topic(event["department"]), event)
            if b.queue_changed and b.conversation is not None and b.conversation.department:
                departments.add(b.conversation.department)
        for department in sorted(departments):
            await self.bus.publish(f"queue:{department}", {"type": "queue_changed"})

    def _lease_to(self, reply: Message, worker_id: str) -> None:
        """Lease a new reply to this worker, so that it sends it at once, with no claim in between.

        Only the first reply of a turn, and only when no older reply of the conversation is
        still pending (those go first). A crash before the send leaves a lease that expires.
        """
        reply.delivery_locked_by = worker_id
        reply.delivery_lease_until = utcnow() + dt.timedelta(seconds=self.lease_seconds)

    async def _finish_only(self, item_id: int, worker_id: str) -> bool:
        return await self.transactions.run(
            lambda session: work_queue.finish_work_item(session, item_id, worker_id, utcnow())
        )


def _result(outcome: Turn | BaseException) -> Turn:
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome
