"""The one decision policy: what to do with a citizen's message, given what the NLU understood.

Live conversations and ``govchat nlu predict`` both call ``DecisionPolicy.decide_message``.
Thresholds come from settings; words and routing come from ``knowledge_base/routing.yml``.

Every escalation to an officer queue is an ``ESCALATE`` decision of this policy, with its
``EscalationReason`` and department; the pipeline and the complaint flow only carry it out
(``app.conversations.flows.Flows.escalate``). Why a conversation was escalated:

- ``requested``: the citizen asked for a person (words of ``routing.yml`` or the NLU's
  ``request_human``), routed to the topic the request names, else the recent topic
  (``_requested``);
- ``low_confidence``: about our services, but no entry is sure enough, or the citizen was
  already asked to choose once (``decide``, ``_clarify``);
- ``repeated_fallback``: the third message in a row the bot could not place (``_fallback``);
- ``expired_answer``: the entry to answer is past its ``expires_at``, or gone (``answer_entry``);
- ``complaint``: the citizen filed a complaint case (``complaint_filed``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from knowledge_base.conversation import RoutingRules
from knowledge_base.language import THAI, detect_language
from knowledge_base.loader import KnowledgeBase
from nlu.client import (
    COMPLAINT_FILE_INTENT,
    COMPLAINT_STATUS_INTENT,
    FALLBACK_INTENT,
    FAQ_INTENT,
    GOODBYE_INTENT,
    GREET_INTENT,
    REQUEST_HUMAN_INTENT,
    THANKS_INTENT,
    NluClient,
    Prediction,
    Ranked,
)
from nlu.thai_text import normalize

SMALLTALK_INTENTS = frozenset({GREET_INTENT, GOODBYE_INTENT, THANKS_INTENT})
COMPLAINT_INTENTS = frozenset({COMPLAINT_FILE_INTENT, COMPLAINT_STATUS_INTENT})
# Intents that, named in a request for a person, choose its department ("ขอคุยกับเจ้าหน้าที่เรื่อง
# ร้องเรียน"). Not ``complaint_status``: "เรื่องที่ถามเมื่อกี้" reads as one but means the recent topic.
REQUEST_TOPIC_INTENTS = frozenset({COMPLAINT_FILE_INTENT})
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
    """Why a conversation went to an officer queue (the module's docstring says when)."""

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
    recent_faq_id: str | None = None  # the entry last answered or clarified, within the topic memory


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
    topic: str | None = None  # the entry an escalation was routed by
    language: str = THAI  # of the citizen's message: replies.py answers in English where it can

    def __post_init__(self) -> None:
        # Carrying out an escalation needs both; nothing downstream may guess them.
        if self.action == Action.ESCALATE and (self.reason is None or self.department is None):
            raise ValueError("an escalation decision names its reason and its department")

    @property
    def escalation(self) -> tuple[str, EscalationReason]:
        """The department and the reason of an ``ESCALATE`` decision."""
        if self.action != Action.ESCALATE or self.reason is None or self.department is None:
            raise ValueError(f"a {self.action} decision is no escalation")
        return self.department, self.reason


@dataclass(frozen=True)
class Route:
    department: str
    topic: str | None = None


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
        # Longest first, so that taking a request off a message leaves no part of a longer phrase.
        self._human_phrases = tuple(
            sorted({_phrase_key(p) for p in routing.human_request_phrases}, key=len, reverse=True)
        )
        self._fillers = tuple(
            sorted({_phrase_key(w) for w in routing.request_fillers}, key=len, reverse=True)
        )
        self._cancel_words = frozenset(_phrase_key(w) for w in routing.cancel_words)
        self._titles: tuple[KnowledgeBase | None, dict[str, str]] = (None, {})  # per loaded KB

    def wants_human(self, text: str) -> bool:
        squashed = _phrase_key(text)
        return any(phrase in squashed for phrase in self._human_phrases)

    def is_cancel(self, text: str) -> bool:
        return _phrase_key(text) in self._cancel_words

    def faq_by_title(self, text: str) -> str | None:
        """A tapped suggestion sends the entry's title back: answer that entry directly."""
        kb = self._kb()
        if self._titles[0] is not kb:  # squashed once per loaded knowledge base, not per message
            titles: dict[str, str] = {}
            for entry in kb.entries.values():
                titles.setdefault(_phrase_key(entry.title), entry.id)
            self._titles = (kb, titles)
        return self._titles[1].get(_phrase_key(text))

    def request_remainder(self, text: str) -> str:
        """What a request for a person says besides asking for one: the topic it names, or ``""``.

        "ขอคุยกับเจ้าหน้าที่เรื่องส่งงบการเงินค่ะ" -> "ส่งงบการเงิน"; "คุยกับคนได้ไหมคะ" -> "".
        """
        pieces = [_phrase_key(text)]
        for phrase in self._human_phrases:
            pieces = [part for piece in pieces for part in piece.split(phrase)]
        kept = [core for piece in pieces if (core := self._strip_fillers(piece))]
        return " ".join(kept)

    def _strip_fillers(self, piece: str) -> str:
        """The piece without polite particles and request words at either end."""
        piece = piece.lstrip(_THAI_MARKS)  # a mark left where a shorter phrase spelling was cut
        changed = True
        while piece and changed:
            changed = False
            for filler in self._fillers:
                rest = piece[len(filler) :]
                # not when the filler is only the start of a longer syllable ("ที" of "ที่")
                if piece.startswith(filler) and not rest.startswith(tuple(_THAI_MARKS)):
                    piece, changed = rest, True
                if piece.endswith(filler):
                    piece, changed = piece[: -len(filler)], True
        return piece

    def is_bare_request(self, text: str) -> bool:
        """A request for a person and nothing else (not a question for an officer's queue row)."""
        return self.wants_human(text) and not self.request_remainder(text)

    async def decide_message(
        self, text: str, nlu: NluClient, context: TurnContext
    ) -> tuple[Prediction | None, Decision]:
        """Rules that need no NLU first (a request for a person, a tapped suggestion), then the NLU."""
        if self.wants_human(text):
            return None, await self._requested(text, 1.0, nlu, context)
        titled = self.faq_by_title(text)
        if titled is not None:
            return None, self.answer_entry(titled, 1.0)
        prediction = await nlu.parse(text)
        decision = self.decide(prediction, context)
        if decision.action == Action.ESCALATE and decision.reason == EscalationReason.REQUESTED:
            decision = await self._requested(text, decision.confidence, nlu, context)
        elif decision.action == Action.ESCALATE and decision.topic is None:
            # Not even a guess at what this message is about: the conversation's recent topic is.
            recent = self.recent_route(context)
            if recent is not None and decision.reason != EscalationReason.EXPIRED_ANSWER:
                decision = dataclasses.replace(decision, department=recent.department, topic=recent.topic)
        return prediction, dataclasses.replace(decision, language=detect_language(text))

    async def _requested(
        self, text: str, confidence: float, nlu: NluClient, context: TurnContext
    ) -> Decision:
        """A request for a person: to the topic it names, else the recent topic, else the default."""
        route = await self.named_route(text, nlu) or self.recent_route(context)
        route = route or Route(self.routing.default_department)
        return _escalation(EscalationReason.REQUESTED, REQUEST_HUMAN_INTENT, confidence, route, route.topic)

    def complaint_filed(self) -> Decision:
        """A complaint case was filed: to the complaints department's queue."""
        department = self._intent_department(COMPLAINT_FILE_INTENT)
        return _escalation(EscalationReason.COMPLAINT, COMPLAINT_FILE_INTENT, 1.0, Route(department))

    async def named_route(self, text: str, nlu: NluClient) -> Route | None:
        """The department of the topic a request names, when the NLU is really sure of it.

        Only what is left besides the request is classified; the department is the one whose
        entries hold at least ``request_topic_min_confidence`` of the ranking together (two
        close entries of one department are still a sure department), the topic its best entry.
        """
        remainder = self.request_remainder(text)
        if not remainder:
            return None
        prediction = await nlu.parse(remainder)
        trusted = prediction.confidence >= self.thresholds.intent
        if trusted and prediction.intent in REQUEST_TOPIC_INTENTS:
            return Route(self._intent_department(prediction.intent))
        if prediction.intent != FAQ_INTENT:
            return None
        kb = self._kb()
        mass: dict[str, float] = {}
        best: dict[str, str] = {}
        for ranked in prediction.faq_ranking:
            entry = kb.entry(ranked.name)
            if entry is not None:
                mass[entry.department] = mass.get(entry.department, 0.0) + ranked.confidence
                best.setdefault(entry.department, entry.id)
        if not mass:
            return None
        department = max(mass, key=lambda d: mass[d])
        if mass[department] < self.routing.request_topic_min_confidence:
            return None
        return Route(department, best[department])

    def recent_route(self, context: TurnContext) -> Route | None:
        entry = self._kb().entry(context.recent_faq_id) if context.recent_faq_id else None
        return Route(entry.department, entry.id) if entry is not None else None

    def remembers(self, answered_at: dt.datetime | None, now: dt.datetime) -> bool:
        """Whether a topic answered at ``answered_at`` still routes a request for a person."""
        memory = dt.timedelta(minutes=self.routing.topic_memory_minutes)
        return answered_at is not None and now - answered_at <= memory

    def decide(self, prediction: Prediction, context: TurnContext) -> Decision:
        t = self.thresholds
        intent, confidence = prediction.intent, prediction.confidence
        trusted = intent != FAQ_INTENT and confidence >= t.intent
        if trusted and intent == REQUEST_HUMAN_INTENT:
            return self._escalate(intent, confidence, EscalationReason.REQUESTED, prediction)
        if trusted and intent in COMPLAINT_INTENTS:
            return Decision(Action.COMPLAINT, intent, confidence, department=self._intent_department(intent))
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
            route = Route(entry.department, entry.id) if entry else Route(self.routing.default_department)
            return _escalation(EscalationReason.EXPIRED_ANSWER, FAQ_INTENT, confidence, route, faq_id)
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
        route = Route(self.route(intent, best), best.name if best and self._routes_by(best) else None)
        return _escalation(reason, intent, confidence, route, best.name if best else None)

    def _routes_by(self, best_guess: Ranked) -> bool:
        return (
            best_guess.confidence >= self.routing.min_routing_confidence
            and self._kb().entry(best_guess.name) is not None
        )

    def route(self, intent: str, best_guess: Ranked | None) -> str:
        """Department of an escalation: the best-guess entry's, else by intent, else the default."""
        if best_guess is not None and self._routes_by(best_guess):
            entry = self._kb().entry(best_guess.name)
            if entry is not None:
                return entry.department
        return self._intent_department(intent)

    def _intent_department(self, intent: str) -> str:
        return self.routing.intent_departments.get(intent, self.routing.default_department)


def _escalation(
    reason: EscalationReason, intent: str, confidence: float, route: Route, faq_id: str | None = None
) -> Decision:
    """The one shape of an ``ESCALATE`` decision: to ``route``'s department, for ``reason``."""
    return Decision(
        Action.ESCALATE,
        intent,
        confidence,
        faq_id,
        reason=reason,
        department=route.department,
        topic=route.topic,
    )


# Thai vowel and tone marks written above or below a consonant: never the start of a word.
_THAI_MARKS = (
    "\u0e31\u0e34\u0e35\u0e36\u0e37\u0e38\u0e39\u0e3a\u0e47\u0e48\u0e49\u0e4a\u0e4b\u0e4c\u0e4d\u0e4e"
)


def _phrase_key(text: str) -> str:
    """Normalised, without spaces or punctuation: for matching fixed phrases."""
    return "".join(ch for ch in normalize(text) if ch.isalnum() or "\u0e00" <= ch <= "\u0e7f")
