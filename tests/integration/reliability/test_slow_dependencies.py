"""The hub behind a Rasa that is down or too slow, and answers that outlive LINE's reply token.

``tests/integration/rasa/test_failover.py`` checks the breaker on its own, against the real
Rasa server; these check what a citizen and an operator of the running hub see.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.conversations.models import DeliveryStatus, Message
from tests.conftest import free_port, wait_for
from tests.fakes.rasa_api import SlowRasa
from tests.integration.line.conftest import REPLY_TIMEOUT, LineHub

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

QUESTION = "จดทะเบียนบริษัทออนไลน์ได้ไหม"
NLU_TIMEOUT = 1.0
# Rasa is asked about every message, even one the embedded engine is sure of (nlu.cascade).
RASA_FOR_ALL = {"GOVCHAT_NLU_LOCAL_SURE_AT": 1.01}


@pytest.fixture
def slow_rasa() -> Iterator[SlowRasa]:
    with SlowRasa(delay=30.0) as rasa:
        yield rasa


async def answered(line: LineHub, user_id: str) -> tuple[Message, Message]:
    """The citizen's message and the hub's one answer, once that answer is no longer pending."""

    async def done() -> tuple[Message, Message] | None:
        rows = await line.messages(user_id)
        inbound = [m for m in rows if m.direction == "in"]
        outbound = [m for m in rows if m.direction == "out"]
        if len(outbound) == 1 and outbound[0].delivery_status != DeliveryStatus.PENDING:
            return inbound[0], outbound[0]
        return None

    result: tuple[Message, Message] = await wait_for(done, REPLY_TIMEOUT)
    return result


async def assert_answered_by_the_embedded_engine(line: LineHub, user_id: str) -> None:
    await line.post(line.text(user_id, QUESTION))
    question, answer = await answered(line, user_id)
    assert answer.delivery_status == DeliveryStatus.SENT
    assert question.nlu is not None
    assert (question.nlu["engine"], question.nlu["faq_id"]) == ("embedded", "company_registration_online")
    assert len(line.fake.deliveries(user_id)) == 1


async def assert_readyz_degraded(line: LineHub) -> None:
    response = await line.client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded" and body["database"] == "ok"
    assert "rasa" in body["reason"] and "embedded" in body["reason"]


class TestRasaDown:
    @pytest.fixture
    def line_overrides(self) -> dict[str, Any]:
        # A loopback port nobody listens on: connections are refused at once.
        return {
            "RASA_URL": f"http://127.0.0.1:{free_port()}",
            "GOVCHAT_NLU_TIMEOUT_SECONDS": NLU_TIMEOUT,
            **RASA_FOR_ALL,
        }

    async def test_readyz_says_degraded_from_the_first_probe(self, line: LineHub) -> None:
        await assert_readyz_degraded(line)

    async def test_the_embedded_engine_answers(self, line: LineHub) -> None:
        await assert_answered_by_the_embedded_engine(line, "Urasadown")
        await assert_readyz_degraded(line)


class TestRasaSlowerThanItsTimeout:
    @pytest.fixture
    def line_overrides(self, slow_rasa: SlowRasa) -> dict[str, Any]:
        return {"RASA_URL": slow_rasa.url, "GOVCHAT_NLU_TIMEOUT_SECONDS": NLU_TIMEOUT, **RASA_FOR_ALL}

    async def test_the_embedded_engine_answers_and_readyz_says_degraded(
        self, line: LineHub, slow_rasa: SlowRasa
    ) -> None:
        await assert_answered_by_the_embedded_engine(line, "Urasaslow")
        assert slow_rasa.calls["parse"] == 1  # Rasa was asked, and not waited for beyond the timeout
        await assert_readyz_degraded(line)

    async def test_an_answer_slower_than_the_reply_tokens_life_is_pushed(
        self, line: LineHub, slow_rasa: SlowRasa
    ) -> None:
        # The token has half a second left when the event arrives; the answer takes the NLU timeout.
        event = line.text("Utoolate", QUESTION, fresh_token=False, age_seconds=49.5)
        event["replyToken"] = line.fake.issue_reply_token("Utoolate", ttl=0.5)
        await line.post(event)
        question, answer = await answered(line, "Utoolate")
        assert (answer.delivery_status, answer.delivered_via) == (DeliveryStatus.SENT, "push")
        (delivery,) = line.fake.deliveries("Utoolate")
        assert delivery.via == "push" and delivery.retry_key
        # While the citizen waited, LINE showed the loading animation.
        loading = [r for r in line.fake.requests("loading") if r.json.get("chatId") == "Utoolate"]
        assert [r.status for r in loading] == [202]
        assert question.nlu is not None and question.nlu["engine"] == "embedded"
