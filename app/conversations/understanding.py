"""The part of a turn that runs before its transaction: the NLU, the typing hint, attachments.

Nothing here writes to the database. The NLU runs only when the bot is going to answer a
text itself (not while the conversation is queued for an officer, and not when a flow
such as a complaint takes the message); what it decided is stored later by ``BotReplies``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from app.conversations.flows import Flows
from app.conversations.inbound import InboundEvent
from app.conversations.models import Conversation, ConversationState
from app.conversations.policy import Decision, DecisionPolicy, TurnContext
from app.db.schema import utcnow
from app.metrics import Metrics
from channels.base import ChannelAdapter, InboundKind
from nlu.client import NluClient, Prediction
from nlu.resilient import DEGRADED_REASON

log = logging.getLogger(__name__)


@dataclass
class Turn:
    """What handling one event decided, applied in the batch's transaction."""

    prediction: Prediction | None = None
    decision: Decision | None = None
    attachments: list[dict[str, Any]] | None = None  # as fetched and stored for officers
    discarded: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # of unsent messages
    decided: bool = False  # the bot acted on ``decision``


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


class Understanding:
    def __init__(
        self,
        policy: DecisionPolicy,
        nlu: NluClient,
        flows: Flows,
        metrics: Metrics,
        adapters: Mapping[str, ChannelAdapter],
        processing_hint_seconds: float,
    ) -> None:
        self.policy = policy
        self.nlu = nlu
        self.flows = flows
        self.metrics = metrics
        self.adapters = adapters
        self.processing_hint_seconds = processing_hint_seconds

    async def prepare(self, event: InboundEvent, conversation: Conversation) -> Turn:
        """Everything of a turn that happens outside the transaction."""
        turn = await self._understand_showing_progress(event, conversation)
        turn.attachments = await self._fetch_attachments(event, conversation)
        return turn

    async def _understand_showing_progress(self, event: InboundEvent, conversation: Conversation) -> Turn:
        """Understand; if the answer is not ready at once, show the platform's "typing" hint."""
        adapter = self.adapters.get(event.channel)
        if (
            adapter is None
            or event.kind != InboundKind.TEXT
            or not event.addressed
            or conversation.state != ConversationState.BOT
        ):
            return await self._understand(event, conversation)
        understanding = asyncio.ensure_future(self._understand(event, conversation))
        waited = (utcnow() - event.received_at).total_seconds()
        try:
            done, _ = await asyncio.wait(
                {understanding}, timeout=max(0.0, self.processing_hint_seconds - waited)
            )
            if not done:
                try:
                    await adapter.show_processing(event.inbound)
                except Exception:  # a hint must never cost the answer
                    log.warning("show_processing_failed", extra={"channel": event.channel}, exc_info=True)
            return await understanding
        finally:
            understanding.cancel()  # only matters when we were cancelled ourselves

    async def _fetch_attachments(
        self, event: InboundEvent, conversation: Conversation
    ) -> list[dict[str, Any]] | None:
        """Keep a copy of what the citizen sent where the platform lets us."""
        fetcher = self.adapters.get(event.channel)
        if event.kind != InboundKind.ATTACHMENT or not isinstance(fetcher, AttachmentFetcher):
            return None
        if not event.addressed:
            return None
        return await fetcher.fetch_attachments(conversation.id, event.attachments_as_queued())

    async def _understand(self, event: InboundEvent, conversation: Conversation) -> Turn:
        """Run the NLU when the bot is going to answer a text."""
        if not event.addressed:
            return Turn()
        faq_id = event.tapped_faq_id
        if faq_id is not None:
            if conversation.state != ConversationState.BOT:
                return Turn()
            return Turn(None, self.policy.answer_entry(faq_id, 1.0))
        if not event.text:
            return Turn()
        if conversation.state != ConversationState.BOT:
            # Only a request for a person or a cancel is acted on while queued; officers see the rest.
            return Turn()
        if self.flows.consumes(conversation, event):  # a complaint, a case number, a rating
            return Turn()
        recent = (
            conversation.recent_faq_id
            if self.policy.remembers(conversation.recent_faq_at, utcnow())
            else None
        )
        context = TurnContext(conversation.fallback_streak, conversation.clarify_pending, recent)
        started = time.perf_counter()
        prediction, decision = await self.policy.decide_message(event.text, self.nlu, context)
        if prediction is not None:
            # Answers the embedded engine gave because Rasa failed are counted apart from those it
            # was sure of (nlu.cascade): the first are a fault, the second the design.
            engine = prediction.engine + ("_failover" if DEGRADED_REASON in prediction.extra else "")
            self.metrics.nlu_latency.labels(engine).observe(time.perf_counter() - started)
        return Turn(prediction, decision)
