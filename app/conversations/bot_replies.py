"""What the bot does with one event inside the batch's transaction.

It stores the citizen's message as understood, the bot's replies and the conversation's
state change. The unit of work may run a second time (SQLite's lock), so everything here only
assigns what it produces: nothing is counted or sent from here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.conversations import queue_counts, service
from app.conversations.flows import Flows
from app.conversations.inbound import InboundEvent
from app.conversations.models import Citizen, Conversation, ConversationState, Message
from app.conversations.policy import Action, Decision, DecisionPolicy, EscalationReason
from app.conversations.replies import Reply, render_bot_reply
from app.conversations.understanding import Turn
from app.db.schema import utcnow
from channels.base import POSTBACK_CANCEL, POSTBACK_HUMAN, InboundKind
from knowledge_base.conversation import Responses
from knowledge_base.loader import KnowledgeBaseStore

Send = Callable[[Reply], None]


class BotReplies:
    def __init__(
        self, policy: DecisionPolicy, flows: Flows, kb_store: KnowledgeBaseStore, responses: Responses
    ) -> None:
        self.policy = policy
        self.flows = flows
        self.kb_store = kb_store
        self.responses = responses

    def store_turn(
        self,
        session: Session,
        event: InboundEvent,
        inbound: Message | None,
        conversation: Conversation,
        turn: Turn,
    ) -> list[Message]:
        """Store one turn: the citizen's message (``inbound``) as understood, replies, state changes."""
        turn.decided = False  # as if for the first time: the unit may be run again
        kind = event.kind
        if kind == InboundKind.UNFOLLOW:
            _set_citizen_active(session, conversation.citizen_id, False)
            return []
        if kind == InboundKind.UNSEND:
            target = event.inbound.target_external_message_id
            turn.discarded = _remove_unsent(session, conversation.id, target)
            return []
        if inbound is not None and turn.attachments is not None:
            inbound.extra = {**(inbound.extra or {}), "attachments": turn.attachments}
        replies: list[Message] = []
        if not event.addressed:
            return [inbound] if inbound else []

        def send(reply: Reply) -> None:
            replies.append(
                service.new_outbound(  # stored with the batch's other replies, in one statement
                    conversation,
                    reply.text,
                    quick_replies=reply.quick_replies,
                    extra=reply.extra,
                    in_reply_to=inbound.id if inbound else None,
                    reply_token=event.inbound.reply_token,
                    reply_token_expires_at=event.inbound.reply_token_expires_at,
                )
            )

        if event.starts_chat:
            _set_citizen_active(session, conversation.citizen_id, True)
            send(Reply(self.responses.follow, [self.responses.quick_reply_human]))
        elif kind == InboundKind.ATTACHMENT:
            if conversation.state == ConversationState.BOT:
                stickers = event.only_stickers
                text = self.responses.sticker_received if stickers else self.responses.attachment_received
                send(Reply(text, [self.responses.quick_reply_human]))
        elif (flow_replies := self.flows.handle(session, conversation, event)) is not None:
            for reply in flow_replies:
                send(reply)
        elif conversation.state != ConversationState.BOT:
            self.flows.forget_pin_request(conversation)  # the PIN asked for must come next
            self._while_queued(session, conversation, event, send)
        elif turn.decision is not None:
            self._bot_turn(session, conversation, turn.decision, send)
            turn.decided = True
            if inbound is not None:
                inbound.nlu = _nlu_record(turn)
            self._note_question(conversation, event, turn.decision)
        return ([inbound] if inbound else []) + replies

    def _note_question(
        self, conversation: Conversation, event: InboundEvent, decision: Decision | None
    ) -> None:
        """Keep the citizen's last message that was more than a request for a person (for queue rows)."""
        text = event.text
        if event.kind != InboundKind.TEXT or not text or self.policy.is_cancel(text):
            return
        if decision is not None and decision.action == Action.SMALLTALK:
            return
        requested = decision is None or decision.reason == EscalationReason.REQUESTED
        if requested and self.policy.wants_human(text) and not self.policy.request_remainder(text):
            return
        conversation.question_message_id = event.message_id

    def _bot_turn(self, session: Session, conversation: Conversation, decision: Decision, send: Send) -> None:
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
            position = self.flows.escalate(session, conversation, decision)
            _, reason = decision.escalation
            send(self.flows.escalation_reply(reason, position))
            return
        reply = render_bot_reply(decision, self.kb_store.current, self.responses)
        if reply is not None:
            send(reply)

    def _while_queued(
        self, session: Session, conversation: Conversation, event: InboundEvent, send: Send
    ) -> None:
        text = event.text
        if self.policy.is_cancel(text) or event.postback == POSTBACK_CANCEL:
            if conversation.state == ConversationState.WAITING:
                # Only the wait for an officer ends; a filed complaint case stays as it is.
                service.hand_back_to_bot(session, conversation)
                send(self.flows.wait_cancelled_reply(session, conversation))
            return
        if conversation.state == ConversationState.WAITING and (
            self.policy.wants_human(text) or event.postback == POSTBACK_HUMAN
        ):
            position = queue_counts.waiting_position(session, conversation)
            send(self.flows.still_waiting_reply(position))
            if self.policy.is_bare_request(text):
                return
        if event.kind == InboundKind.TEXT and text:
            self._note_question(conversation, event, None)


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


def _remove_unsent(session: Session, conversation_id: str, external_id: str | None) -> list[dict[str, Any]]:
    """Blank the unsent message; returns its attachments so stored copies can be deleted too."""
    if not external_id:
        return []
    removed: list[dict[str, Any]] = []
    rows = session.scalars(
        select(Message).where(Message.conversation_id == conversation_id, Message.external_id == external_id)
    )
    for message in rows:
        removed.extend((message.extra or {}).get("attachments") or [])
        message.text = None
        message.extra = {"unsent": True}
    return removed
