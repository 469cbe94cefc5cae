"""Routing a request for a person: the topic the request names, else the recent topic, else general."""

from __future__ import annotations

import datetime as dt

import pytest

from app.conversations.policy import Action, DecisionPolicy, EscalationReason, Thresholds, TurnContext
from knowledge_base.conversation import load_routing_rules
from knowledge_base.loader import KnowledgeBase, load_knowledge_base
from nlu.client import FALLBACK_INTENT, Prediction, Ranked

THRESHOLDS = Thresholds(answer=0.65, clarify=0.2, intent=0.5)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


@pytest.fixture
def policy(kb: KnowledgeBase) -> DecisionPolicy:
    return DecisionPolicy(THRESHOLDS, load_routing_rules(), lambda: kb)


class ScriptedNlu:
    """Answers what the test scripted for a text; records what it was asked."""

    name = "scripted"

    def __init__(self, predictions: dict[str, Prediction]) -> None:
        self.predictions = predictions
        self.asked: list[str] = []

    async def parse(self, text: str) -> Prediction:
        self.asked.append(text)
        return self.predictions.get(text, Prediction(text=text, intent=FALLBACK_INTENT, confidence=0.1))

    async def is_ready(self) -> bool:
        return True

    async def aclose(self) -> None:
        return None


def faq(text: str, *ranking: tuple[str, float], confidence: float = 0.95) -> Prediction:
    return Prediction(
        text=text,
        intent="faq",
        confidence=confidence,
        faq_ranking=tuple(Ranked(name, c) for name, c in ranking),
    )


class TestRequestRemainder:
    @pytest.mark.parametrize(
        ("text", "remainder"),
        [
            ("ขอคุยกับเจ้าหน้าที่เรื่องส่งงบการเงินค่ะ", "ส่งงบการเงิน"),
            ("เรื่องจองชื่อค่ะ ขอคุยกับเจ้าหน้าที่หน่อยได้ไหมคะ", "จองชื่อ"),
            ("ขอสายจนท.ค่ะ ส่งงบช้า", "ส่งงบช้า"),
            ("ขอคุยกับเจ้าหน้าที่ที่ดูแลเรื่องหนังสือรับรอง", "หนังสือรับรอง"),
            ("ขอคุยกับเจ้าหน้าที่เรื่องที่อยู่บริษัท", "ที่อยู่บริษัท"),  # "ที" of "ที่" is not a filler
            ("ต่อสายเจ้าหน้าที่ให้หน่อย จดทะเบียนไม่ผ่าน", "จดทะเบียนไม่ผ่าน"),
        ],
    )
    def test_the_topic_is_what_is_left_besides_the_request(
        self, policy: DecisionPolicy, text: str, remainder: str
    ) -> None:
        assert policy.request_remainder(text) == remainder

    @pytest.mark.parametrize(
        "text",
        [
            "ขอคุยกับเจ้าหน้าที่",
            "คุยกับคนได้ไหมคะ",
            "ขอสายเจ้าหน้าที่หน่อยครับ",
            "รบกวนขอคุยกับเจ้าหน้าทีค่ะ",  # without the tone mark
            "ขอคุยกะเจ้าหน้าที่หน่อยนะคะ",
            "คุยกับ จนท. ด่วนๆ ครับ",
        ],
    )
    def test_a_bare_request_names_nothing(self, policy: DecisionPolicy, text: str) -> None:
        assert policy.wants_human(text)
        assert policy.request_remainder(text) == ""
        assert policy.is_bare_request(text)


class TestNamedTopic:
    async def test_a_request_naming_a_topic_goes_to_its_department(self, policy: DecisionPolicy) -> None:
        nlu = ScriptedNlu({"ส่งงบการเงิน": faq("ส่งงบการเงิน", ("financial_statement_submission", 0.88))})

        _, decision = await policy.decide_message("ขอคุยกับเจ้าหน้าที่เรื่องส่งงบการเงินค่ะ", nlu, TurnContext())

        assert (decision.action, decision.reason) == (Action.ESCALATE, EscalationReason.REQUESTED)
        assert (decision.department, decision.topic) == ("accounts", "financial_statement_submission")
        assert nlu.asked == ["ส่งงบการเงิน"]  # only the topic, not the request around it

    async def test_close_entries_of_one_department_together_are_sure_enough(
        self, policy: DecisionPolicy
    ) -> None:
        # neither entry alone reaches the bar; the department does
        nlu = ScriptedNlu(
            {"จดบริษัท": faq("จดบริษัท", ("company_registration_online", 0.3), ("registration_documents", 0.3))}
        )
        _, decision = await policy.decide_message("ขอคุยกับเจ้าหน้าที่เรื่องจดบริษัท", nlu, TurnContext())
        assert (decision.department, decision.topic) == ("registration", "company_registration_online")

    async def test_an_unsure_topic_falls_back_to_the_recent_topic(self, policy: DecisionPolicy) -> None:
        nlu = ScriptedNlu(
            {"ภาษี": faq("ภาษี", ("registration_fees", 0.3), ("financial_statement_deadline", 0.25))}
        )
        context = TurnContext(recent_faq_id="company_certificate")
        _, decision = await policy.decide_message("ขอคุยกับเจ้าหน้าที่เรื่องภาษี", nlu, context)
        assert (decision.department, decision.topic) == ("information", "company_certificate")

    async def test_a_complaint_named_in_the_request_goes_to_complaints(self, policy: DecisionPolicy) -> None:
        nlu = ScriptedNlu({"ร้องเรียน": Prediction(text="ร้องเรียน", intent="complaint_file", confidence=0.99)})
        _, decision = await policy.decide_message("ขอคุยกับเจ้าหน้าที่เรื่องร้องเรียน", nlu, TurnContext())
        assert (decision.department, decision.topic) == ("complaints", None)

    async def test_a_status_question_in_the_request_is_not_a_complaint(self, policy: DecisionPolicy) -> None:
        # "the matter I asked about just now": the recent topic, not the complaints desk
        text = "ที่ถามเมื่อกี้"
        nlu = ScriptedNlu({text: Prediction(text=text, intent="complaint_status", confidence=0.8)})
        context = TurnContext(recent_faq_id="financial_statement_deadline")
        _, decision = await policy.decide_message("ขอคุยกับเจ้าหน้าที่เรื่องที่ถามเมื่อกี้", nlu, context)
        assert decision.department == "accounts"


class TestRecentTopic:
    async def test_a_bare_request_goes_to_the_recent_topic(self, policy: DecisionPolicy) -> None:
        nlu = ScriptedNlu({})
        context = TurnContext(recent_faq_id="name_reservation")
        _, decision = await policy.decide_message("คุยกับคนได้ไหมคะ", nlu, context)
        assert (decision.department, decision.topic) == ("registration", "name_reservation")
        assert nlu.asked == []  # nothing besides the request: no NLU call

    async def test_a_bare_request_without_a_recent_topic_goes_to_general(
        self, policy: DecisionPolicy
    ) -> None:
        _, decision = await policy.decide_message("ขอสายเจ้าหน้าที่", ScriptedNlu({}), TurnContext())
        assert (decision.department, decision.topic) == ("general", None)

    async def test_a_request_the_nlu_recognises_is_routed_the_same_way(self, policy: DecisionPolicy) -> None:
        text = "มีใครตอบไหม"
        nlu = ScriptedNlu({text: Prediction(text=text, intent="request_human", confidence=0.97)})
        context = TurnContext(recent_faq_id="shareholder_list_submission")
        _, decision = await policy.decide_message(text, nlu, context)
        assert (decision.action, decision.department) == (Action.ESCALATE, "accounts")

    async def test_repeated_fallbacks_go_to_the_recent_topic(self, policy: DecisionPolicy) -> None:
        text = "งงไปหมดแล้ว"
        nlu = ScriptedNlu({text: Prediction(text=text, intent=FALLBACK_INTENT, confidence=0.1)})
        context = TurnContext(fallback_streak=2, recent_faq_id="company_dissolution")
        _, decision = await policy.decide_message(text, nlu, context)
        assert decision.reason == EscalationReason.REPEATED_FALLBACK
        assert (decision.department, decision.topic) == ("registration", "company_dissolution")

    def test_the_memory_lasts_thirty_minutes(self, policy: DecisionPolicy) -> None:
        now = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
        assert policy.remembers(now - dt.timedelta(minutes=30), now)
        assert not policy.remembers(now - dt.timedelta(minutes=31), now)
        assert not policy.remembers(None, now)
