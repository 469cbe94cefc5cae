"""Replies through the fake Graph API: windows, retries, configuration errors, unreachable citizens.

On SQLite; ``TestOutboxRows`` on PostgreSQL too: the outbox's claims and updates differ between them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from app.conversations import service
from app.conversations.models import Conversation, Message, Sender
from app.db.schema import utcnow
from channels.facebook.adapter import BOT_OUTSIDE_WINDOW
from tests.conftest import wait_for
from tests.fakes.facebook.graph_api import (
    first_event,
    invalid_token,
    rate_limited,
    server_error,
    user_unavailable,
)
from tests.integration.facebook.conftest import Messenger

CITIZEN = "1134343043305865"
OFFICER_TEXT = "เจ้าหน้าที่ตอบค่ะ: เอกสารของท่านครบแล้ว"


@pytest.fixture
def hub_database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url  # Meta's windows, back-off, error mapping: the database cannot change them


async def _first_reply(messenger: Messenger) -> Message:
    """A citizen writes; the bot's first reply has been through delivery."""
    await messenger.post_fixture("fbmq_message_text")

    async def reply() -> Message | None:
        replies = await messenger.messages("out")
        return replies[0] if replies and replies[0].delivery_status != "pending" else None

    result: Message = await wait_for(reply, timeout=30)
    return result


async def _officer_reply(messenger: Messenger, *, citizen_wrote_ago: dt.timedelta, sender: Sender) -> Message:
    """Move the citizen's last message into the past, then queue a message from ``sender``."""
    await _first_reply(messenger)
    conversation = await messenger.conversation_of(CITIZEN)
    async with messenger.services.sessionmaker() as session, session.begin():
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation.id)
            .values(last_inbound_at=utcnow() - citizen_wrote_ago)
        )
        row = await session.get(Conversation, conversation.id)
        assert row is not None
        message = service.add_outbound(session, row, OFFICER_TEXT, sender=sender)
        await session.flush()
        message_id = message.id
    messenger.services.workers.notify_delivery()
    return await messenger.settled(message_id)


class TestOutboxRows:
    """A reply sent, a retry, a failure that marks its citizen, and a window read from the stored
    time of the citizen's last message, as the database keeps them."""

    @pytest.fixture
    def hub_database_url(self, database_url: str) -> str:
        return database_url  # the outbox's claims and updates differ between the databases

    async def test_the_bot_reply_goes_out_once_as_a_response(self, messenger: Messenger) -> None:
        reply = await _first_reply(messenger)

        assert reply.delivery_status == "sent"
        [request] = messenger.graph.delivered(CITIZEN)
        assert request.body["messaging_type"] == "RESPONSE"
        assert "tag" not in request.body
        assert request.text == reply.text

    async def test_500_500_200_is_delivered_once(self, messenger: Messenger) -> None:
        messenger.graph.fail(server_error(), server_error(), recipient=CITIZEN)

        reply = await _first_reply(messenger)

        assert reply.delivery_status == "sent"
        assert reply.delivery_attempts == 3
        attempts = [r for r in messenger.graph.messages(CITIZEN) if r.text == reply.text]
        assert [r.status for r in attempts] == [500, 500, 200]
        assert len(messenger.graph.delivered(CITIZEN)) == len(await messenger.messages("out"))

    async def test_551_marks_the_citizen_unreachable(self, messenger: Messenger) -> None:
        messenger.graph.fail(user_unavailable(), recipient=CITIZEN)

        reply = await _first_reply(messenger)

        assert reply.delivery_status == "failed"
        citizen = await messenger.citizen(CITIZEN)
        assert citizen.unreachable_reason is not None and "551" in citizen.unreachable_reason

    async def test_an_officer_reply_after_24_hours_is_tagged_human_agent(self, messenger: Messenger) -> None:
        message = await _officer_reply(
            messenger, citizen_wrote_ago=dt.timedelta(days=2), sender=Sender.OFFICER
        )

        assert message.delivery_status == "sent"
        [request] = [r for r in messenger.graph.delivered(CITIZEN) if r.text == OFFICER_TEXT]
        assert (request.body["messaging_type"], request.body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


class TestReplies:
    async def test_a_faq_answer_is_a_button_template_with_its_source(self, messenger: Messenger) -> None:
        def faq_button(data: dict[str, Any]) -> None:
            first_event(data)["postback"].update(
                title="จดทะเบียนบริษัท", payload="faq:company_registration_online", mid="m_faq_1"
            )

        await messenger.post(messenger.fixtures.derived("fbmq_postback", faq_button))

        [request, *_] = await messenger.delivered_to(CITIZEN)
        assert request.message is not None
        payload = request.message["attachment"]["payload"]
        entry = messenger.services.kb.store.current.entry("company_registration_online")
        assert entry is not None
        assert payload["template_type"] == "button"
        assert [b["type"] for b in payload["buttons"]] == ["web_url", "postback"]
        assert payload["buttons"][0]["url"] == str(entry.source_url)
        assert payload["buttons"][1]["payload"] == "human"
        assert len(payload["text"]) <= 640


class TestRetries:
    async def test_a_rate_limit_is_waited_out(self, messenger: Messenger) -> None:
        messenger.graph.fail(rate_limited(613), rate_limited(32), recipient=CITIZEN)

        reply = await _first_reply(messenger)

        assert reply.delivery_status == "sent"
        assert [r.status for r in messenger.graph.messages(CITIZEN)][:3] == [400, 400, 200]


class TestGivingUp:
    @pytest.fixture
    def facebook_overrides(self) -> dict[str, Any]:
        return {"GOVCHAT_DELIVERY_MAX_SECONDS": 0.5}

    async def test_a_failure_that_lasts_is_given_up_after_the_delivery_time(
        self, messenger: Messenger
    ) -> None:
        messenger.graph.fail_always(server_error(), recipient=CITIZEN)

        reply = await _first_reply(messenger)

        assert reply.delivery_status == "failed"
        assert "Messenger error 2" in (reply.delivery_error or "")


class TestConfigurationErrors:
    async def test_an_invalid_token_fails_the_message_and_makes_readyz_degraded(
        self, messenger: Messenger, client: httpx.AsyncClient
    ) -> None:
        assert (await client.get("/readyz")).status_code == 200
        messenger.graph.fail(invalid_token(), recipient=CITIZEN)

        reply = await _first_reply(messenger)

        assert reply.delivery_status == "failed"
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["status"] == "degraded"
        assert "190" in response.json()["reason"]


class TestMessagingWindows:
    async def test_an_officer_reply_within_24_hours_is_a_plain_response(self, messenger: Messenger) -> None:
        message = await _officer_reply(
            messenger, citizen_wrote_ago=dt.timedelta(hours=2), sender=Sender.OFFICER
        )

        assert message.delivery_status == "sent"
        [request] = [r for r in messenger.graph.delivered(CITIZEN) if r.text == OFFICER_TEXT]
        assert request.body["messaging_type"] == "RESPONSE"

    async def test_an_officer_reply_after_7_days_is_refused_and_the_officer_told_why(
        self, messenger: Messenger
    ) -> None:
        message = await _officer_reply(
            messenger, citizen_wrote_ago=dt.timedelta(days=8), sender=Sender.OFFICER
        )

        assert message.delivery_status == "failed"
        assert "7 days" in (message.delivery_error or "")
        assert [r for r in messenger.graph.messages(CITIZEN) if r.text == OFFICER_TEXT] == []
        adapter = messenger.services.adapters["facebook"]
        conversation = await messenger.conversation_of(CITIZEN)
        assert adapter.officer_reply_refusal(conversation.last_inbound_at, utcnow()) is not None

    async def test_a_bot_message_after_24_hours_is_never_tagged(self, messenger: Messenger) -> None:
        message = await _officer_reply(messenger, citizen_wrote_ago=dt.timedelta(days=2), sender=Sender.BOT)

        assert message.delivery_status == "failed"
        assert message.delivery_error == BOT_OUTSIDE_WINDOW
        assert all("tag" not in r.body for r in messenger.graph.messages())
        assert (await messenger.citizen(CITIZEN)).unreachable_reason is None
