"""An English question gets the entry's English text, or the Thai one with a sentence saying so."""

from __future__ import annotations

import asyncio

import pytest

from app.conversations.policy import Action, Decision, TurnContext
from app.conversations.replies import faq_answer, render_bot_reply
from app.nlu_tools import build_policy
from app.settings import Settings
from knowledge_base.conversation import Responses, load_responses
from knowledge_base.language import ENGLISH, THAI
from knowledge_base.loader import KnowledgeBase, KnowledgeBaseStore, load_knowledge_base
from nlu.client import FAQ_INTENT, Prediction, Ranked


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


@pytest.fixture(scope="module")
def responses() -> Responses:
    return load_responses()


def test_english_question_gets_the_english_answer(kb: KnowledgeBase, responses: Responses) -> None:
    entry = kb.entry("company_certificate")
    assert entry is not None and entry.answer_en and entry.title_en
    reply = faq_answer(kb, responses, entry.id, ENGLISH)
    assert reply.text.startswith(entry.answer_en)
    assert responses.source_label_en in reply.text and str(entry.source_url) in reply.text
    assert reply.extra["faq"]["answer"] == entry.answer_en and reply.extra["faq"]["title"] == entry.title_en


def test_without_english_text_the_thai_answer_says_it_is_thai(
    kb: KnowledgeBase, responses: Responses
) -> None:
    entry = next(e for e in kb.entries.values() if not e.answer_en)
    reply = faq_answer(kb, responses, entry.id, ENGLISH)
    assert reply.text.splitlines()[0] == responses.thai_only_en
    assert entry.answer in reply.text


def test_thai_question_gets_the_thai_answer(kb: KnowledgeBase, responses: Responses) -> None:
    entry = kb.entry("company_certificate")
    assert entry is not None and entry.answer_en is not None
    reply = faq_answer(kb, responses, entry.id, THAI)
    assert reply.text.startswith(entry.answer) and entry.answer_en not in reply.text


def test_render_follows_the_decision_language(kb: KnowledgeBase, responses: Responses) -> None:
    decision = Decision(Action.ANSWER, FAQ_INTENT, 0.9, "company_certificate", language=ENGLISH)
    reply = render_bot_reply(decision, kb, responses)
    entry = kb.entry("company_certificate")
    assert reply is not None and entry is not None and entry.answer_en is not None
    assert reply.text.startswith(entry.answer_en)


class Fixed:
    def __init__(self, faq_id: str) -> None:
        self.faq_id = faq_id

    async def parse(self, text: str) -> Prediction:
        return Prediction(
            text=text,
            intent=FAQ_INTENT,
            confidence=0.95,
            intent_ranking=(Ranked(FAQ_INTENT, 0.95),),
            faq_ranking=(Ranked(self.faq_id, 0.95),),
            engine="fixed",
        )


@pytest.mark.parametrize(
    ("text", "language"),
    [("how to get หนังสือรับรอง online", ENGLISH), ("ขอหนังสือรับรองบริษัทออนไลน์", THAI)],
)
def test_the_policy_records_the_message_language(text: str, language: str) -> None:
    policy = build_policy(Settings(), KnowledgeBaseStore())
    _, decision = asyncio.run(policy.decide_message(text, Fixed("company_certificate"), TurnContext()))  # type: ignore[arg-type]
    assert decision.action == Action.ANSWER and decision.language == language
