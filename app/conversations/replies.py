"""Turn a policy decision into the bot's outbound messages (texts from the knowledge base)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.conversations.policy import Action, Decision
from knowledge_base.conversation import Responses
from knowledge_base.language import ENGLISH
from knowledge_base.loader import KnowledgeBase
from nlu.client import GREET_INTENT

MAX_RELATED = 2
GREETING_TOPICS = ("company_registration_online", "financial_statement_submission", "company_certificate")


@dataclass(frozen=True)
class Reply:
    text: str
    quick_replies: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def titles(kb: KnowledgeBase, ids: tuple[str, ...] | list[str]) -> list[str]:
    return [entry.title for faq_id in ids if (entry := kb.entry(faq_id)) is not None]


def faq_answer(kb: KnowledgeBase, responses: Responses, faq_id: str, language: str = "th") -> Reply:
    """The entry's answer; to an English question its English text, else the Thai one said to be Thai."""
    entry = kb.entry(faq_id)
    assert entry is not None
    source = str(entry.source_url)
    title, answer = entry.title, entry.answer
    text = f"{answer}\n{responses.source_label}: {source}"
    if language == ENGLISH and entry.title_en and entry.answer_en:
        title, answer = entry.title_en, entry.answer_en
        text = f"{answer}\n{responses.source_label_en}: {source}"
    elif language == ENGLISH:
        text = f"{responses.thai_only_en}\n{text}"
    return Reply(
        text=text,
        quick_replies=[*titles(kb, entry.related[:MAX_RELATED]), responses.quick_reply_human],
        extra={"faq": {"faq_id": entry.id, "title": title, "source_url": source, "answer": answer}},
    )


def render_bot_reply(decision: Decision, kb: KnowledgeBase, responses: Responses) -> Reply | None:
    """Replies for decisions that need no state change; escalations are rendered by the pipeline."""
    if decision.action == Action.ANSWER and decision.faq_id:
        return faq_answer(kb, responses, decision.faq_id, decision.language)
    if decision.action == Action.SMALLTALK:
        text = getattr(responses, decision.intent)
        topics = titles(kb, list(GREETING_TOPICS)) if decision.intent == GREET_INTENT else []
        return Reply(text=text, quick_replies=[*topics, responses.quick_reply_human] if topics else [])
    if decision.action == Action.CLARIFY:
        options = titles(kb, decision.suggestions)
        # LINE desktop shows no quick replies: number the options in the text too.
        numbered = "\n".join(f"{i}. {title}" for i, title in enumerate(options, start=1))
        return Reply(
            text=f"{responses.clarify}\n{numbered}",
            quick_replies=[*options, responses.quick_reply_human],
            extra={"suggestions": list(decision.suggestions)},
        )
    if decision.action == Action.FALLBACK:
        if decision.offer_human:
            return Reply(text=responses.fallback_offer_human, quick_replies=[responses.quick_reply_human])
        return Reply(text=responses.fallback)
    return None
