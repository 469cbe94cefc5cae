"""The one decision policy: what to do with a citizen's message, given what the NLU understood.

Live conversations and ``govchat nlu predict`` both call ``DecisionPolicy.decide_message``.
Thresholds come from settings; words and routing come from ``knowledge_base/routing.yml``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

from knowledge_base.conversation import RoutingRules
from knowledge_base.language import THAI, detect_language
from knowledge_base.loader import KnowledgeBase
from nlu.client import FALLBACK_INTENT, FAQ_INTENT, NluClient, Prediction, Ranked
from nlu.thai_text import normalize

SMALLTALK_INTENTS = frozenset({"greet", "goodbye", "thanks"})
COMPLAINT_INTENTS = frozenset({"complaint_file", "complaint_status"})
MAX_SUGGESTIONS = 3
FALLBACKS_BEFORE_OFFER = 1  # the second fallback in a row offers a person
FALLBACKS_BEFORE_ESCALATION = 2  # the third escalates


class Action(StrEnum):
    ANSWER = "answer"
    SMALLTALK = "smalltalk"
    CLARIFY = "clarify"
    ESCALATE = "escalate"
    COMPLAINT = "complaint"
    FALLBACK = "fallback"


class EscalationReason(StrEnum):
    REQUESTED = "requested"
    LOW_CONFIDENCE = "low_confidence"
    REPEATED_FALLBACK = "repeated_fallback"
    COMPLAINT = "complaint"
    EXPIRED_ANSWER = "expired_answer"


@dataclass(frozen=True)
class Thresholds:
    answer: float  # answer the top FAQ at or above this confidence
    clarify: float  # offer suggestions between this and ``answer``
    intent: float  # trust a non-FAQ intent at or above this confidence


@dataclass(frozen=True)
class TurnContext:
    """What the policy needs to know of the conversation so far."""

    fallback_streak: int = 0
    clarify_pending: bool = False


@dataclass(frozen=True)
class Decision:
    action: Action
    intent: str
    confidence: float
    faq_id: str | None = None
    suggestions: tuple[str, ...] = ()
    reason: EscalationReason | None = None
    department: str | None = None
    offer_human: bool = False
    language: str = THAI  # of the citizen's message: replies.py answers in English where it can


class DecisionPolicy:
    def __init__(
        self,
        thresholds: Thresholds,
        routing: RoutingRules,
        knowledge_base: Callable[[], KnowledgeBase],
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        self.thresholds = thresholds
        self.routing = routing
        self._kb = knowledge_base
        self._today = today
        self._human_phrases = tuple(_squash(p) for p in routing.human_request_phrases)
        self._cancel_words = frozenset(_squash(w) for w in routing.cancel_words)
        self._titles: tuple[KnowledgeBase | None, dict[str, str]] = (None, {})  # per loaded KB

    def wants_human(self, text: str) -> bool:
        squashed = _squash(text)
        return any(phrase in squashed for phrase in self._human_phrases)

    def is_cancel(self, text: str) -> bool:
        return _squash(text) in self._cancel_words

    def faq_by_title(self, text: str) -> str | None:
        """A tapped suggestion sends the entry's title back: answer that entry directly."""
        kb = self._kb()
        if self._titles[0] is not kb:  # squashed once per loaded knowledge base, not per message
            titles: dict[str, str] = {}
            for entry in kb.entries.values():
                titles.setdefault(_squash(entry.title), entry.id)
            self._titles = (kb, titles)
        return self._titles[1].get(_squash(text))

    async def decide_message(
        self, text: str, nlu: NluClient, context: TurnContext
    ) -> tuple[Prediction | None, Decision]:
        """Rules that need no NLU first (a request for a person, a tapped suggestion), then the NLU."""
        if self.wants_human(text):
            return None, self._escalate("request_human", 1.0, EscalationReason.REQUESTED, None)
        titled = self.faq_by_title(text)
        if titled is not None:
            return None, self.answer_entry(titled, 1.0)
        prediction = await nlu.parse(text)
        return prediction, replace(self.decide(prediction, context), language=detect_language(text))

    def decide(self, prediction: Prediction, context: TurnContext) -> Decision:
        t = self.thresholds
        intent, confidence = prediction.intent, prediction.confidence
        trusted = intent != FAQ_INTENT and confidence >= t.intent
        if trusted and intent == "request_human":
            return self._escalate(intent, confidence, EscalationReason.REQUESTED, prediction)
        if trusted and intent in COMPLAINT_INTENTS:
            department = self.routing.intent_departments.get(intent, self.routing.default_department)
            return Decision(Action.COMPLAINT, intent, confidence, department=department)
        if trusted and intent in SMALLTALK_INTENTS:
            return Decision(Action.SMALLTALK, intent, confidence)

        faq_id, faq_confidence = prediction.faq_id, prediction.faq_confidence
        if intent == FAQ_INTENT and faq_id is not None:
            if faq_confidence >= t.answer:
                return self.answer_entry(faq_id, faq_confidence)
            if faq_confidence >= t.clarify:
                if context.clarify_pending:  # clarified once already and still unsure: a person
                    return self._escalate(
                        FAQ_INTENT, faq_confidence, EscalationReason.LOW_CONFIDENCE, prediction
                    )
                return self._clarify(prediction)
            # About our services, but no entry is even a good guess: a person, at once.
            return self._escalate(FAQ_INTENT, faq_confidence, EscalationReason.LOW_CONFIDENCE, prediction)
        if not trusted and faq_confidence >= t.clarify and not context.clarify_pending:
            return self._clarify(prediction)
        return self._fallback(intent if trusted else FALLBACK_INTENT, confidence, context, prediction)

    def answer_entry(self, faq_id: str, confidence: float) -> Decision:
        entry = self._kb().entry(faq_id)
        if entry is None or entry.is_expired(self._today()):
            department = entry.department if entry else self.routing.default_department
            return Decision(
                Action.ESCALATE,
                FAQ_INTENT,
                confidence,
                faq_id,
                (),
                EscalationReason.EXPIRED_ANSWER,
                department,
            )
        return Decision(Action.ANSWER, FAQ_INTENT, confidence, faq_id)

    def _clarify(self, prediction: Prediction) -> Decision:
        kb, today = self._kb(), self._today()
        suggestions = tuple(
            r.name
            for r in prediction.faq_ranking
            if (entry := kb.entry(r.name)) is not None and not entry.is_expired(today)
        )[:MAX_SUGGESTIONS]
        if not suggestions:
            return self._escalate(
                FAQ_INTENT, prediction.faq_confidence, EscalationReason.LOW_CONFIDENCE, prediction
            )
        return Decision(
            Action.CLARIFY, prediction.intent, prediction.confidence, prediction.faq_id, suggestions
        )

    def _fallback(
        self, intent: str, confidence: float, context: TurnContext, prediction: Prediction
    ) -> Decision:
        if context.fallback_streak >= FALLBACKS_BEFORE_ESCALATION:
            return self._escalate(intent, confidence, EscalationReason.REPEATED_FALLBACK, prediction)
        offer = context.fallback_streak >= FALLBACKS_BEFORE_OFFER
        return Decision(Action.FALLBACK, intent, confidence, offer_human=offer)

    def _escalate(
        self, intent: str, confidence: float, reason: EscalationReason, prediction: Prediction | None
    ) -> Decision:
        best = prediction.faq_ranking[0] if prediction and prediction.faq_ranking else None
        return Decision(
            Action.ESCALATE,
            intent,
            confidence,
            best.name if best else None,
            (),
            reason,
            self.route(intent, best),
        )

    def route(self, intent: str, best_guess: Ranked | None) -> str:
        """Department of an escalation: the best-guess entry's, else by intent, else the default."""
        if best_guess is not None and best_guess.confidence >= self.routing.min_routing_confidence:
            entry = self._kb().entry(best_guess.name)
            if entry is not None:
                return entry.department
        return self.routing.intent_departments.get(intent, self.routing.default_department)


def _squash(text: str) -> str:
    """Normalised, without spaces or punctuation: for matching fixed phrases."""
    return "".join(ch for ch in normalize(text) if ch.isalnum() or "\u0e00" <= ch <= "\u0e7f")
