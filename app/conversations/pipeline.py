"""The bot's side of a conversation: handle queued events, each exactly once.

A worker has leased a batch of items, at most one per conversation. NLU runs outside any
transaction; then one transaction re-reads the conversations, checks the leases are still
ours, stores each decision, its replies and state change, and marks the items done. A
crash before that commit leaves the items queued (their leases expire and another worker
takes them). The transactions are sync units of work (``app.db.transactions.Transactions``): on SQLite
each runs in one call, and may run a second time if SQLite's lock was taken, so a unit only
assigns what it produces; metrics are counted once it has committed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.complaints import service as complaints
from app.complaints.notifications import release_held
from app.conversations import chats, outbox, queue_counts, service, transcript, work_queue
from app.conversations.delivery import Leased
from app.conversations.flows import Flows
from app.conversations.models import Citizen, Conversation, ConversationState, Message, WorkItem
from app.conversations.pacing import gather_one_per_turn
from app.conversations.policy import Action, Decision, DecisionPolicy, EscalationReason, TurnContext
from app.conversations.replies import Reply, render_bot_reply
from app.conversations.schemas import message_event
from app.db.schema import utcnow
from app.db.transactions import Transactions
from app.events import EventBus
from app.metrics import Metrics
from channels.base import (
    POSTBACK_CANCEL,
    POSTBACK_FAQ_PREFIX,
    POSTBACK_GET_STARTED,
    POSTBACK_HUMAN,
    Channel,
    ChannelAdapter,
    InboundKind,
    InboundMessage,
)
from knowledge_base.conversation import Responses
from knowledge_base.loader import KnowledgeBaseStore
from nlu.client import NluClient, Prediction

log = logging.getLogger(__name__)


@dataclass
class Turn:
    """What handling one item decided, applied in the final transaction."""

    prediction: Prediction | None = None
    decision: Decision | None = None
    attachments: list[dict[str, Any]] | None = None  # as fetched and stored for officers
    discarded: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # of unsent messages
    decided: bool = False  # the bot acted on ``decision``


@dataclass(frozen=True)
class Handled:
    """What the worker does next, once the item is finished."""

    deliver_now: Leased | None = None  # the new replies, the first leased to this worker: send them now
    more_replies: bool = False  # replies left for the delivery claimer (an older one is still pending)
    more_work: bool = False  # a later event of the same conversation is waiting


@dataclass
class _InBatch:
    """One leased item of a batch, and what its turn stored."""

    item: WorkItem
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
    def conversation_id(self) -> str:
        return str(self.item.conversation_id)

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


@runtime_checkable
class AttachmentFetcher(Protocol):
    """An adapter that downloads what a citizen sent (e.g. LINE's content API) and keeps it."""

    async def fetch_attachments(
        self, conversation_id: str, attachments: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """The attachments again, with where each was stored (``stored_path``) or why not."""
        ...

    async def discard_attachments(self, attachments: Sequence[Mapping[str, Any]]) -> None:
        """Delete stored copies (the citizen unsent the message)."""
        ...


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
        self.policy = policy
        self.nlu = nlu
        self.kb_store = kb_store
        self.responses = responses
        self.bus = bus
        self.metrics = metrics
        self.adapters = adapters or {}
        self.processing_hint_seconds = processing_hint_seconds
        self.lease_seconds = lease_seconds
        self.flows = Flows(responses, policy, lambda: kb_store.current, pin_key=case_pin_key)

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
        prepared = await gather_one_per_turn(
            self._prepare_turn(item, conversation) for item, conversation, _ in rows
        )
        turns = [_result(p) for p in prepared]
        batch = [_InBatch(item, citizen, turn) for (item, _, citizen), turn in zip(rows, turns, strict=True)]
        held = await self.transactions.run(lambda session: self._store_batch(session, batch, worker_id))
        for lost in [b.item.id for b in batch if b.item.id not in held]:
            results[lost] = None
            log.warning("work_item_lease_lost", extra={"item": lost, "worker": worker_id})
        batch = [b for b in batch if b.item.id in held]
        for b in batch:
            results[b.item.id] = b.handled
        await self._announce(batch)
        return results

    def _store_batch(self, session: Session, batch: list[_InBatch], worker_id: str) -> set[int]:
        """The batch's transaction: finish the items still leased to us and store their turns; their ids."""
        held = work_queue.finish_work_items(session, [b.item.id for b in batch], worker_id, utcnow())
        if held:
            self._store_turns(session, [b for b in batch if b.item.id in held], worker_id)
        return held

    def _store_turns(self, session: Session, batch: list[_InBatch], worker_id: str) -> None:
        """Apply each item's turn in the batch's transaction; fills in what each one published."""
        conversation_ids = sorted({b.conversation_id for b in batch})
        current = chats.lock_conversations(session, conversation_ids)
        # Complaint updates Messenger did not allow before the citizen wrote again go first.
        release_held(session, [current[b.conversation_id] for b in batch if b.item.message_id])
        older_reply_pending = outbox.with_pending_outbound(session, conversation_ids)
        inbound_by_id = transcript.messages_by_id(
            session, [b.item.message_id for b in batch if b.item.message_id]
        )
        for b in batch:
            b.conversation = conversation = current[b.conversation_id]
            state_before = conversation.state
            inbound = inbound_by_id.get(b.item.message_id) if b.item.message_id else None
            b.published = self._store_turn(session, b.item, inbound, conversation, b.turn)
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
            self.metrics.reply_latency.observe((utcnow() - b.item.received_at).total_seconds())
            if b.turn.decided and b.turn.decision is not None:
                self.metrics.decisions.labels(b.turn.decision.action).inc()
            if b.escalated and b.conversation is not None:
                conversation = b.conversation
                self.metrics.escalations.labels(conversation.department, conversation.escalation_reason).inc()
            fetcher = self.adapters.get(b.item.channel)
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

    async def _prepare_turn(self, item: WorkItem, conversation: Conversation) -> Turn:
        """Everything of a turn that happens outside the transaction: NLU, fetching attachments."""
        turn = await self._understand_showing_progress(item, conversation)
        turn.attachments = await self._fetch_attachments(item, conversation)
        return turn

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

    async def _understand_showing_progress(self, item: WorkItem, conversation: Conversation) -> Turn:
        """Understand; if the answer is not ready at once, show the platform's "typing" hint."""
        adapter = self.adapters.get(item.channel)
        if (
            adapter is None
            or item.kind != InboundKind.TEXT
            or not item.payload.get("addressed", True)
            or conversation.state != ConversationState.BOT
        ):
            return await self._understand(item, conversation)
        understanding = asyncio.ensure_future(self._understand(item, conversation))
        waited = (utcnow() - item.received_at).total_seconds()
        try:
            done, _ = await asyncio.wait(
                {understanding}, timeout=max(0.0, self.processing_hint_seconds - waited)
            )
            if not done:
                try:
                    await adapter.show_processing(_inbound_of(item))
                except Exception:  # a hint must never cost the answer
                    log.warning("show_processing_failed", extra={"channel": item.channel}, exc_info=True)
            return await understanding
        finally:
            understanding.cancel()  # only matters when we were cancelled ourselves

    async def _fetch_attachments(
        self, item: WorkItem, conversation: Conversation
    ) -> list[dict[str, Any]] | None:
        """Keep a copy of what the citizen sent where the platform lets us (outside any transaction)."""
        fetcher = self.adapters.get(item.channel)
        if item.kind != InboundKind.ATTACHMENT or not isinstance(fetcher, AttachmentFetcher):
            return None
        if not item.payload.get("addressed", True):
            return None
        return await fetcher.fetch_attachments(conversation.id, item.payload.get("attachments") or [])

    async def _understand(self, item: WorkItem, conversation: Conversation) -> Turn:
        """Run the NLU when the bot is going to answer a text (outside any transaction)."""
        if not item.payload.get("addressed", True):
            return Turn()
        data = str(item.payload.get("payload") or "")
        if item.kind == InboundKind.POSTBACK and data.startswith(POSTBACK_FAQ_PREFIX):
            if conversation.state != ConversationState.BOT:
                return Turn()
            return Turn(None, self.policy.answer_entry(data.removeprefix(POSTBACK_FAQ_PREFIX), 1.0))
        text = _text_of(item)
        if text is None:
            return Turn()
        if conversation.state != ConversationState.BOT:
            # Only a request for a person or a cancel is acted on while queued; officers see the rest.
            return Turn()
        if self.flows.consumes(conversation, item):  # a complaint, a case number, a rating
            return Turn()
        recent = (
            conversation.recent_faq_id
            if self.policy.remembers(conversation.recent_faq_at, utcnow())
            else None
        )
        context = TurnContext(conversation.fallback_streak, conversation.clarify_pending, recent)
        started = time.perf_counter()
        prediction, decision = await self.policy.decide_message(text, self.nlu, context)
        if prediction is not None:
            self.metrics.nlu_latency.labels(prediction.engine).observe(time.perf_counter() - started)
        return Turn(prediction, decision)

    def _store_turn(
        self,
        session: Session,
        item: WorkItem,
        inbound: Message | None,
        conversation: Conversation,
        turn: Turn,
    ) -> list[Message]:
        """Store one turn: the citizen's message (``inbound``) as understood, replies, state changes."""
        turn.decided = False  # as if for the first time: the unit may be run again
        kind = item.kind
        payload = item.payload
        if kind == InboundKind.UNFOLLOW:
            _set_citizen_active(session, conversation.citizen_id, False)
            return []
        if kind == InboundKind.UNSEND:
            turn.discarded = _remove_unsent(
                session, conversation.id, payload.get("target_external_message_id")
            )
            return []
        if inbound is not None and turn.attachments is not None:
            inbound.extra = {**(inbound.extra or {}), "attachments": turn.attachments}
        replies: list[Message] = []
        reply_kwargs = _reply_kwargs(item)
        if not payload.get("addressed", True):
            return [inbound] if inbound else []

        def send(reply: Reply) -> None:
            replies.append(
                service.new_outbound(  # stored with the batch's other replies, in one statement
                    conversation,
                    reply.text,
                    quick_replies=reply.quick_replies,
                    extra=reply.extra,
                    in_reply_to=inbound.id if inbound else None,
                    **reply_kwargs,
                )
            )

        if kind == InboundKind.FOLLOW or payload.get("payload") == POSTBACK_GET_STARTED:
            _set_citizen_active(session, conversation.citizen_id, True)
            send(Reply(self.responses.follow, [self.responses.quick_reply_human]))
        elif kind == InboundKind.ATTACHMENT:
            if conversation.state == ConversationState.BOT:
                sticker = all(a.get("kind") == "sticker" for a in payload.get("attachments", []))
                text = self.responses.sticker_received if sticker else self.responses.attachment_received
                send(Reply(text, [self.responses.quick_reply_human]))
        elif (flow_replies := self.flows.handle(session, conversation, item)) is not None:
            for reply in flow_replies:
                send(reply)
        elif conversation.state != ConversationState.BOT:
            self.flows.forget_pin_request(conversation)  # the PIN asked for must come next
            self._while_queued(session, conversation, item, send)
        elif turn.decision is not None:
            self._bot_turn(session, conversation, turn.decision, send)
            turn.decided = True
            if inbound is not None:
                inbound.nlu = _nlu_record(turn)
            self._note_question(conversation, item, turn.decision)
        return ([inbound] if inbound else []) + replies

    def _note_question(self, conversation: Conversation, item: WorkItem, decision: Decision | None) -> None:
        """Keep the citizen's last message that was more than a request for a person (for queue rows)."""
        text = _text_of(item)
        if item.kind != InboundKind.TEXT or not text or self.policy.is_cancel(text):
            return
        if decision is not None and decision.action == Action.SMALLTALK:
            return
        requested = decision is None or decision.reason == EscalationReason.REQUESTED
        if requested and self.policy.wants_human(text) and not self.policy.request_remainder(text):
            return
        conversation.question_message_id = item.message_id

    def _bot_turn(self, session: Session, conversation: Conversation, decision: Decision, send: Any) -> None:
        kb = self.kb_store.current
        conversation.fallback_streak = (
            conversation.fallback_streak + 1 if decision.action == Action.FALLBACK else 0
        )
        conversation.clarify_pending = decision.action == Action.CLARIFY
        conversation.awaiting = None  # a new question ends any flow left half-way
        if decision.action in (Action.ANSWER, Action.CLARIFY) and decision.faq_id:
            conversation.recent_faq_id = decision.faq_id  # what a later "a person, please" is about
            conversation.recent_faq_at = utcnow()
        if decision.action == Action.COMPLAINT:
            send(self.flows.start_complaint(conversation, decision))
            return
        if decision.action == Action.ESCALATE:
            department = decision.department or self.policy.routing.default_department
            reason = decision.reason or EscalationReason.REQUESTED
            position = service.escalate(session, conversation, department, reason, decision.topic)
            send(self.flows.escalation_reply(reason, position))
            return
        reply = render_bot_reply(decision, kb, self.responses)
        if reply is not None:
            send(reply)

    def _while_queued(self, session: Session, conversation: Conversation, item: WorkItem, send: Any) -> None:
        text = _text_of(item) or ""
        if self.policy.is_cancel(text) or item.payload.get("payload") == POSTBACK_CANCEL:
            if conversation.state == ConversationState.WAITING:
                # Only the wait for an officer ends; a filed complaint case stays as it is.
                service.hand_back_to_bot(session, conversation)
                send(self.flows.wait_cancelled_reply(session, conversation))
            return
        if conversation.state == ConversationState.WAITING and (
            self.policy.wants_human(text) or item.payload.get("payload") == POSTBACK_HUMAN
        ):
            position = queue_counts.waiting_position(session, conversation)
            send(self.flows.still_waiting_reply(position))
            if self.policy.is_bare_request(text):
                return
        if item.kind == InboundKind.TEXT and text:
            self._note_question(conversation, item, None)


def _result(outcome: Turn | BaseException) -> Turn:
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def _text_of(item: WorkItem) -> str | None:
    """The text a message or a postback stands for (a tapped FAQ button is its title)."""
    payload = item.payload
    if item.kind == InboundKind.TEXT:
        return str(payload.get("text") or "") or None
    if item.kind == InboundKind.POSTBACK:
        data = str(payload.get("payload") or "")
        if data == POSTBACK_HUMAN:
            return "คุยกับเจ้าหน้าที่"
        if data == POSTBACK_CANCEL:
            return "ยกเลิก"
        return str(payload.get("text") or "") or None
    return None


def _inbound_of(item: WorkItem) -> InboundMessage:
    """Enough of the queued event for an adapter to address its chat."""
    payload = item.payload
    return InboundMessage(
        channel=Channel(item.channel),
        dedupe_key=item.dedupe_key,
        user_id=str(payload.get("user_id") or ""),
        kind=InboundKind(item.kind),
        timestamp=dt.datetime.fromisoformat(payload["timestamp"]) if payload.get("timestamp") else utcnow(),
        group_id=payload.get("group_id"),
        addressed=bool(payload.get("addressed", True)),
    )


def _reply_kwargs(item: WorkItem) -> dict[str, Any]:
    expires = item.payload.get("reply_token_expires_at")
    return {
        "reply_token": item.payload.get("reply_token"),
        "reply_token_expires_at": dt.datetime.fromisoformat(expires) if expires else None,
    }


def _nlu_record(turn: Turn) -> dict[str, Any] | None:
    decision = turn.decision
    if decision is None:
        return None
    record: dict[str, Any] = {
        "intent": decision.intent,
        "confidence": round(decision.confidence, 4),
        "faq_id": decision.faq_id,
        "action": decision.action.value,
    }
    if turn.prediction is not None:
        record["engine"] = turn.prediction.engine
        record["faq_ranking"] = [dataclasses.asdict(r) for r in turn.prediction.faq_ranking[:3]]
    if decision.reason:
        record["reason"] = decision.reason.value
    return record


def _set_citizen_active(session: Session, citizen_id: str, active: bool) -> None:
    citizen = session.get(Citizen, citizen_id)
    if citizen is not None:
        citizen.active = active


def _remove_unsent(session: Session, conversation_id: str, external_id: object) -> list[dict[str, Any]]:
    """Blank the unsent message; returns its attachments so stored copies can be deleted too."""
    if not external_id:
        return []
    removed: list[dict[str, Any]] = []
    rows = session.scalars(
        select(Message).where(
            Message.conversation_id == conversation_id, Message.external_id == str(external_id)
        )
    )
    for message in rows:
        removed.extend((message.extra or {}).get("attachments") or [])
        message.text = None
        message.extra = {"unsent": True}
    return removed
