"""The decision policy: thresholds, rules before the NLU, routing, expired entries, escalations."""

from __future__ import annotations

import datetime as dt

import pytest

from app.conversations.policy import (
    Action,
    Decision,
    DecisionPolicy,
    EscalationReason,
    Thresholds,
    TurnContext,
)
from knowledge_base.conversation import load_responses, load_routing_rules
from knowledge_base.loader import KnowledgeBase, load_knowledge_base
from nlu.client import Prediction, Ranked

THRESHOLDS = Thresholds(answer=0.6, clarify=0.3, intent=0.5)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


def policy_for(kb: KnowledgeBase, today: dt.date = dt.date(2026, 11, 25)) -> DecisionPolicy:
    return DecisionPolicy(THRESHOLDS, load_routing_rules(), lambda: kb, today=lambda: today)


def faq_prediction(
    ranking: list[tuple[str, float]], intent: str = "faq", confidence: float = 0.9
) -> Prediction:
    return Prediction(
        text="ทดสอบ",
        intent=intent,
        confidence=confidence,
        faq_ranking=tuple(Ranked(name, conf) for name, conf in ranking),
    )


class TestDecide:
    def test_confident_faq_is_answered(self, kb: KnowledgeBase) -> None:
        decision = policy_for(kb).decide(faq_prediction([("name_reservation", 0.8)]), TurnContext())
        assert (decision.action, decision.faq_id) == (Action.ANSWER, "name_reservation")

    def test_middling_faq_confidence_clarifies_with_top_suggestions(self, kb: KnowledgeBase) -> None:
        ranking = [("name_reservation", 0.4), ("name_reservation_expiry", 0.35), ("registration_fees", 0.1)]
        decision = policy_for(kb).decide(faq_prediction(ranking), TurnContext())
        assert decision.action == Action.CLARIFY
        assert decision.suggestions == ("name_reservation", "name_reservation_expiry", "registration_fees")

    def test_still_unsure_after_clarifying_once_escalates_to_the_best_guess_department(
        self, kb: KnowledgeBase
    ) -> None:
        ranking = [("financial_statement_deadline", 0.4), ("name_reservation", 0.3)]
        decision = policy_for(kb).decide(faq_prediction(ranking), TurnContext(clarify_pending=True))
        assert decision.action == Action.ESCALATE
        assert decision.reason == EscalationReason.LOW_CONFIDENCE
        assert decision.department == "accounts"

    def test_very_low_faq_confidence_escalates_at_once(self, kb: KnowledgeBase) -> None:
        decision = policy_for(kb).decide(faq_prediction([("company_certificate", 0.1)]), TurnContext())
        assert decision.action == Action.ESCALATE
        assert decision.department == "general"  # the guess is too weak to route by

    def test_out_of_scope_falls_back_then_offers_a_person_then_escalates(self, kb: KnowledgeBase) -> None:
        policy = policy_for(kb)
        prediction = faq_prediction([("open_data", 0.05)], intent="out_of_scope", confidence=0.9)
        first = policy.decide(prediction, TurnContext(fallback_streak=0))
        second = policy.decide(prediction, TurnContext(fallback_streak=1))
        third = policy.decide(prediction, TurnContext(fallback_streak=2))
        assert (first.action, first.offer_human) == (Action.FALLBACK, False)
        assert (second.action, second.offer_human) == (Action.FALLBACK, True)
        assert (third.action, third.reason) == (Action.ESCALATE, EscalationReason.REPEATED_FALLBACK)

    def test_unsure_core_intent_is_reported_as_nlu_fallback(self, kb: KnowledgeBase) -> None:
        decision = policy_for(kb).decide(faq_prediction([], intent="greet", confidence=0.2), TurnContext())
        assert (decision.action, decision.intent) == (Action.FALLBACK, "nlu_fallback")

    def test_complaint_goes_to_the_complaints_department(self, kb: KnowledgeBase) -> None:
        decision = policy_for(kb).decide(
            faq_prediction([], intent="complaint_file", confidence=0.9), TurnContext()
        )
        assert (decision.action, decision.department) == (Action.COMPLAINT, "complaints")

    def test_expired_entry_is_escalated_not_answered(self, kb: KnowledgeBase) -> None:
        entry = kb.entry("registration_fees")
        assert entry is not None
        expired = entry.model_copy(update={"expires_at": dt.date(2026, 1, 1)})
        patched = KnowledgeBase(kb.departments, {**kb.entries, entry.id: expired}, kb.fingerprint)
        decision = policy_for(patched).decide(faq_prediction([("registration_fees", 0.95)]), TurnContext())
        assert decision.action == Action.ESCALATE
        assert decision.reason == EscalationReason.EXPIRED_ANSWER
        assert decision.department == "registration"


class TestRulesBeforeTheNlu:
    @pytest.mark.parametrize(
        "text", ["ขอคุยกับเจ้าหน้าที่", "ขอ คุย กับ เจ้าหน้าที่ ครับบบ", "อยากคุยกับคนจริงๆ", "Talk to a human please"]
    )
    def test_request_for_a_person_is_recognised_in_any_spelling(self, kb: KnowledgeBase, text: str) -> None:
        assert policy_for(kb).wants_human(text)

    def test_ordinary_question_is_not_a_request_for_a_person(self, kb: KnowledgeBase) -> None:
        assert not policy_for(kb).wants_human("จดทะเบียนบริษัทออนไลน์ได้ไหม")

    def test_a_tapped_suggestion_title_answers_that_entry(self, kb: KnowledgeBase) -> None:
        entry = kb.entry("company_certificate")
        assert entry is not None
        assert policy_for(kb).faq_by_title(f" {entry.title} ") == "company_certificate"

    def test_cancel_word_only_as_the_whole_message(self, kb: KnowledgeBase) -> None:
        policy = policy_for(kb)
        assert policy.is_cancel("ยกเลิก")
        assert not policy.is_cancel("ยกเลิกบริษัทต้องทำยังไง")


class TestEscalation:
    def test_a_filed_complaint_escalates_to_the_complaints_department_for_reason_complaint(
        self, kb: KnowledgeBase
    ) -> None:
        decision = policy_for(kb).complaint_filed()
        assert decision.action == Action.ESCALATE
        assert decision.escalation == ("complaints", EscalationReason.COMPLAINT)

    def test_a_filed_complaint_goes_where_routing_sends_complaints(self, kb: KnowledgeBase) -> None:
        routing = load_routing_rules()
        moved = routing.model_copy(update={"intent_departments": {"complaint_file": "general"}})
        policy = DecisionPolicy(THRESHOLDS, moved, lambda: kb)
        assert policy.complaint_filed().escalation == ("general", EscalationReason.COMPLAINT)

    @pytest.mark.parametrize(
        "missing",
        [{"department": "general"}, {"reason": EscalationReason.REQUESTED}],
        ids=["reason", "department"],
    )
    def test_an_escalation_without_its_reason_or_department_cannot_be_decided(
        self, missing: dict[str, object]
    ) -> None:
        with pytest.raises(ValueError, match="reason and its department"):
            Decision(Action.ESCALATE, "request_human", 1.0, **missing)  # type: ignore[arg-type]

    def test_only_an_escalation_has_a_department_and_reason_to_carry_out(self) -> None:
        with pytest.raises(ValueError, match="no escalation"):
            _ = Decision(Action.ANSWER, "faq", 0.9, "name_reservation").escalation


class TestTappedButtons:
    """A tapped "officer" or "cancel" button is read as words; the policy must recognise them."""

    def test_the_officer_button_is_read_as_a_bare_request_for_a_person(self, kb: KnowledgeBase) -> None:
        assert policy_for(kb).is_bare_request(load_responses().human_postback_reads_as)

    def test_the_cancel_button_is_read_as_a_cancel(self, kb: KnowledgeBase) -> None:
        assert policy_for(kb).is_cancel(load_responses().cancel_postback_reads_as)
