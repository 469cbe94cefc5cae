"""When the bot hands over, and to which department (rules in knowledge_base/routing.yml).

The NLU is scripted here so that confidences are exact; the decisions are the real policy's.
"""

from __future__ import annotations

import httpx
import pytest

from app.conversations.models import ConversationState
from app.services import Services
from nlu.client import FALLBACK_INTENT, FAQ_INTENT, Prediction, Ranked
from tests.integration.officers.conftest import conversation_row, escalations_of, new_citizen


@pytest.fixture
def hub_database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url  # the policy decides, not the database


class ScriptedNlu:
    name = "scripted"

    def __init__(self, predictions: dict[str, Prediction]) -> None:
        self.predictions = predictions

    async def parse(self, text: str) -> Prediction:
        return self.predictions[text]

    async def is_ready(self) -> bool:
        return True

    async def aclose(self) -> None:
        return None


def faq_guess(text: str, *ranking: tuple[str, float]) -> Prediction:
    ranked = tuple(Ranked(name, confidence) for name, confidence in ranking)
    return Prediction(text=text, intent=FAQ_INTENT, confidence=ranked[0].confidence, faq_ranking=ranked)


def no_idea(text: str) -> Prediction:
    return Prediction(text=text, intent=FALLBACK_INTENT, confidence=0.1)


@pytest.fixture
def script(services: Services) -> dict[str, Prediction]:
    predictions: dict[str, Prediction] = {}
    services.workers.pipeline.nlu = ScriptedNlu(predictions)
    return predictions


class TestWhenTheBotHandsOver:
    async def test_a_very_unsure_answer_goes_to_a_person_at_once(
        self, client: httpx.AsyncClient, services: Services, script: dict[str, Prediction]
    ) -> None:
        policy = services.policy
        very_low = policy.thresholds.clarify - 0.01
        text = "ค่าปรับส่งงบช้าคิดยังไงกรณีพิเศษ"
        script[text] = faq_guess(
            text, ("financial_statement_deadline", very_low), ("registration_fees", 0.05)
        )
        citizen = await new_citizen(client, services)

        await citizen.say(text)

        reply = (await citizen.wait_for_reply(1))[-1]
        assert "คิวที่ 1" in reply["text"]
        row = await conversation_row(services, citizen.conversation_id)
        # the best guess's department when the guess is good enough to route by, else the default
        routed = "accounts" if very_low >= policy.routing.min_routing_confidence else "general"
        assert (row.state, row.department, row.escalation_reason) == (
            ConversationState.WAITING,
            routed,
            "low_confidence",
        )

    async def test_still_unsure_after_clarifying_once_goes_to_the_best_guess_department(
        self, client: httpx.AsyncClient, services: Services, script: dict[str, Prediction]
    ) -> None:
        thresholds = services.policy.thresholds
        unsure = (thresholds.clarify + thresholds.answer) / 2
        first, second = "เรื่องชื่อบริษัทค่ะ", "ชื่อที่จองไว้อะค่ะ"
        script[first] = faq_guess(
            first, ("name_reservation", unsure), ("name_reservation_expiry", unsure - 0.05)
        )
        script[second] = faq_guess(
            second, ("name_reservation_expiry", unsure), ("name_reservation", unsure - 0.05)
        )
        citizen = await new_citizen(client, services)

        await citizen.say(first)
        clarified = (await citizen.wait_for_reply(1))[-1]
        await citizen.say(second)
        escalated = (await citizen.wait_for_reply(2))[-1]

        assert clarified["text"].startswith(services.responses.clarify)
        assert "คิวที่ 1" in escalated["text"]
        row = await conversation_row(services, citizen.conversation_id)
        assert (row.department, row.escalation_reason) == ("registration", "low_confidence")

    async def test_the_third_fallback_in_a_row_goes_to_general(
        self, client: httpx.AsyncClient, services: Services, script: dict[str, Prediction]
    ) -> None:
        texts = ["อะไรนะ", "ไม่เข้าใจเลย", "งงมาก"]
        for text in texts:
            script[text] = no_idea(text)
        citizen = await new_citizen(client, services)

        for n, text in enumerate(texts, start=1):
            await citizen.say(text)
            await citizen.wait_for_reply(n)

        replies = await citizen.replies()
        assert replies[0]["text"] == services.responses.fallback
        assert replies[1]["text"] == services.responses.fallback_offer_human
        assert "คิวที่ 1" in replies[2]["text"]
        row = await conversation_row(services, citizen.conversation_id)
        assert (row.department, row.escalation_reason) == ("general", "repeated_fallback")

    async def test_asking_for_a_person_goes_to_general_and_the_position_counts_the_queue(
        self, client: httpx.AsyncClient, services: Services, script: dict[str, Prediction]
    ) -> None:
        first, second = await new_citizen(client, services), await new_citizen(client, services)
        await first.say("ขอคุยกับเจ้าหน้าที่")
        await first.wait_for_reply(1)
        await second.say("ขอคุยกับเจ้าหน้าที่ค่ะ")
        reply = (await second.wait_for_reply(1))[-1]
        assert "คิวที่ 2" in reply["text"]
        assert reply["quick_replies"] == [services.responses.quick_reply_cancel]
        assert [e.reason for e in await escalations_of(services, second.conversation_id)] == ["requested"]
        assert (await conversation_row(services, second.conversation_id)).department == "general"
