"""Questions of a draft that another entry already answers: the editor warns before the NLU gets confused."""

from __future__ import annotations

from app.kb.schemas import NearDuplicate
from app.services import Services
from knowledge_base.entry_rules import normalize_question
from nlu.client import NluClient
from nlu.embedded import EmbeddedNlu

# Far above the answer threshold: the warning must mean "citizens asking this get that other entry".
HIGH_CONFIDENCE = 0.8
MAX_QUESTIONS_RANKED = 50


def embedded_engine(nlu: NluClient) -> EmbeddedNlu | None:
    """The in-process engine, however wrapped (Rasa's fallback, a swappable holder): ranking with it costs no round trip."""
    candidate: object = nlu
    for _wrapper in range(4):
        if isinstance(candidate, EmbeddedNlu):
            return candidate
        candidate = getattr(candidate, "fallback", None) or getattr(candidate, "engine", None)
    return None


async def near_duplicates(services: Services, entry_id: str, questions: list[str]) -> list[NearDuplicate]:
    kb = services.kb.store.current
    taken = {
        normalize_question(question): other
        for other in kb.entries.values()
        if other.id != entry_id
        for question in other.questions
    }
    found: list[NearDuplicate] = []
    unsure: list[str] = []
    for question in questions:
        other = taken.get(normalize_question(question))
        if other is not None:
            found.append(NearDuplicate(question=question, entry_id=other.id, title=other.title))
        else:
            unsure.append(question)
    engine = embedded_engine(services.nlu)
    if engine is None:
        return found
    threshold = max(services.settings.answer_threshold, HIGH_CONFIDENCE)
    for question in unsure[:MAX_QUESTIONS_RANKED]:
        prediction = await engine.parse(question)
        best = kb.entries.get(prediction.faq_id or "")
        if best is not None and best.id != entry_id and prediction.faq_confidence >= threshold:
            found.append(NearDuplicate(question=question, entry_id=best.id, title=best.title))
    return found
