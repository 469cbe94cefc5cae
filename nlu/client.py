"""The one contract every NLU backend fulfils: ``async parse(text) -> Prediction``.

Backends only report what they understood; what to *do* with it (answer, clarify,
escalate, ...) is decided by ``app.conversations.policy``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

# Every intent name a backend reports (INTERFACES.md, `govchat nlu predict`); code names them
# only through these constants.
FAQ_INTENT = "faq"  # the retrieval intent: which entry is in ``Prediction.faq_ranking``
FALLBACK_INTENT = "nlu_fallback"  # nothing recognised with enough confidence
GREET_INTENT = "greet"
GOODBYE_INTENT = "goodbye"
THANKS_INTENT = "thanks"
REQUEST_HUMAN_INTENT = "request_human"
COMPLAINT_FILE_INTENT = "complaint_file"
COMPLAINT_STATUS_INTENT = "complaint_status"
OUT_OF_SCOPE_INTENT = "out_of_scope"
# Core intents besides ``faq``: the ones trained from ``nlu/data/core_intents.yml``.
CORE_INTENTS: tuple[str, ...] = (
    GREET_INTENT,
    GOODBYE_INTENT,
    THANKS_INTENT,
    REQUEST_HUMAN_INTENT,
    COMPLAINT_FILE_INTENT,
    COMPLAINT_STATUS_INTENT,
    OUT_OF_SCOPE_INTENT,
)


@dataclass(frozen=True)
class Ranked:
    """A label with its confidence (an intent name or an FAQ id)."""

    name: str
    confidence: float


@dataclass(frozen=True)
class Prediction:
    """What a backend understood of one message.

    ``intent`` is ``faq``, a core intent or ``nlu_fallback``.
    ``faq_ranking`` is always filled (best first) when the backend can rank FAQ entries,
    even when ``intent`` is not ``faq``: the policy uses it for clarify suggestions and
    for routing an escalation to the best-guess entry's department.
    """

    text: str
    intent: str
    confidence: float
    intent_ranking: tuple[Ranked, ...] = ()
    faq_ranking: tuple[Ranked, ...] = ()
    engine: str = "embedded"
    latency_ms: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def faq_id(self) -> str | None:
        return self.faq_ranking[0].name if self.faq_ranking else None

    @property
    def faq_confidence(self) -> float:
        return self.faq_ranking[0].confidence if self.faq_ranking else 0.0


class NluClient(Protocol):
    """A Thai NLU backend."""

    name: str

    async def parse(self, text: str) -> Prediction: ...

    async def is_ready(self) -> bool: ...

    async def aclose(self) -> None: ...
