"""Which events a flow answers instead of the NLU, and the escalation notices."""

from __future__ import annotations

import datetime as dt

import pytest

from app.conversations.flows import AWAITING_COMPLAINT_DESCRIPTION, AWAITING_RATING, Flows
from app.conversations.inbound import InboundEvent, postback_readings
from app.conversations.intake import inbound_to_payload
from app.conversations.models import Conversation, ConversationState, WorkItem
from app.conversations.policy import DecisionPolicy, EscalationReason, Thresholds
from channels.base import (
    POSTBACK_CANCEL,
    POSTBACK_FAQ_PREFIX,
    POSTBACK_HUMAN,
    POSTBACK_RATE_PREFIX,
    Channel,
    InboundKind,
    InboundMessage,
)
from knowledge_base.conversation import Responses, load_responses, load_routing_rules
from knowledge_base.loader import KnowledgeBase, load_knowledge_base

# A Tuesday, 10:00 in Bangkok: within office hours, so no after-hours note is added.
OFFICE_TIME = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def responses() -> Responses:
    return load_responses()


@pytest.fixture(scope="module")
def flows(responses: Responses) -> Flows:
    kb: KnowledgeBase = load_knowledge_base()
    policy = DecisionPolicy(Thresholds(0.6, 0.3, 0.5), load_routing_rules(), lambda: kb)
    return Flows(responses, policy, lambda: kb, clock=lambda: OFFICE_TIME, pin_key="k" * 32)


def conversation(
    state: ConversationState = ConversationState.BOT, awaiting: str | None = None
) -> Conversation:
    return Conversation(id="c1", citizen_id="z1", channel="line", state=state, awaiting=awaiting)


def event(responses: Responses, text: str | None = None, postback: str | None = None) -> InboundEvent:
    kind = InboundKind.POSTBACK if postback is not None else InboundKind.TEXT
    inbound = InboundMessage(
        channel=Channel.LINE,
        dedupe_key="e1",
        user_id="U1",
        kind=kind,
        timestamp=OFFICE_TIME,
        text=text,
        payload=postback,
    )
    item = WorkItem(
        id=1, conversation_id="c1", message_id=2, payload=inbound_to_payload(inbound), received_at=OFFICE_TIME
    )
    return InboundEvent.decode(item, postback_readings(responses))


class TestConsumes:
    def test_the_description_the_bot_asked_for_is_taken_by_the_complaint_flow(
        self, flows: Flows, responses: Responses
    ) -> None:
        asked = conversation(awaiting=AWAITING_COMPLAINT_DESCRIPTION)
        assert flows.consumes(asked, event(responses, "เจ้าหน้าที่พูดจาไม่สุภาพ"))

    def test_the_officer_button_while_describing_a_complaint_goes_to_the_policy(
        self, flows: Flows, responses: Responses
    ) -> None:
        asked = conversation(awaiting=AWAITING_COMPLAINT_DESCRIPTION)
        assert not flows.consumes(asked, event(responses, postback=POSTBACK_HUMAN))

    def test_the_cancel_button_while_describing_a_complaint_is_taken_by_the_flow(
        self, flows: Flows, responses: Responses
    ) -> None:
        asked = conversation(awaiting=AWAITING_COMPLAINT_DESCRIPTION)
        assert flows.consumes(asked, event(responses, postback=POSTBACK_CANCEL))

    @pytest.mark.parametrize("state", list(ConversationState))
    def test_a_case_number_is_taken_in_every_state(
        self, flows: Flows, responses: Responses, state: ConversationState
    ) -> None:
        assert flows.consumes(conversation(state), event(responses, "ติดตามเรื่อง CMP-2569-000123"))

    def test_a_question_while_waiting_for_an_officer_is_left_to_the_officer(
        self, flows: Flows, responses: Responses
    ) -> None:
        waiting = conversation(ConversationState.WAITING)
        assert not flows.consumes(waiting, event(responses, "จองชื่อบริษัทยังไง"))

    def test_a_rating_is_taken_only_when_the_bot_asked_for_one(
        self, flows: Flows, responses: Responses
    ) -> None:
        assert flows.consumes(conversation(awaiting=AWAITING_RATING), event(responses, "5"))
        assert not flows.consumes(conversation(), event(responses, "5"))
        assert flows.consumes(conversation(), event(responses, postback=POSTBACK_RATE_PREFIX + "4"))

    def test_a_tapped_faq_button_goes_to_the_policy(self, flows: Flows, responses: Responses) -> None:
        assert not flows.consumes(
            conversation(), event(responses, postback=POSTBACK_FAQ_PREFIX + "open_data")
        )


class TestEscalationNotice:
    def test_the_notice_gives_the_queue_position_and_a_cancel_button(
        self, flows: Flows, responses: Responses
    ) -> None:
        reply = flows.escalation_reply(EscalationReason.REQUESTED, 3)
        assert reply.text == responses.escalated.format(position=3)
        assert reply.quick_replies == [responses.quick_reply_cancel]

    def test_an_expired_answer_says_why_an_officer_answers_instead(
        self, flows: Flows, responses: Responses
    ) -> None:
        reply = flows.escalation_reply(EscalationReason.EXPIRED_ANSWER, 1)
        assert reply.text == f"{responses.expired_answer}\n{responses.escalated.format(position=1)}"
