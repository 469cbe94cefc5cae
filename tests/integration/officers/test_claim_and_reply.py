"""Claim and reply: one holder at a time; replies go out through the citizen's own channel."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select, update

from app.conversations.models import ConversationState, DeliveryStatus, Message, WorkItem
from app.services import Services
from tests.conftest import wait_for
from tests.integration.officers.conftest import (
    conversation_row,
    conversation_url,
    escalations_of,
    make_officer,
    message_row,
    queue_citizen,
)


@pytest.fixture
def hub_database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url  # the API's rules: the database cannot change them


class TestClaim:
    async def test_claim_takes_the_conversation(self, client: httpx.AsyncClient, services: Services) -> None:
        citizen = await queue_citizen(client, services, "general")
        officer = await make_officer(client, services, "somsri", ["general"])

        response = await client.post(
            conversation_url(citizen.conversation_id, "claim"), headers=officer.headers
        )

        assert response.status_code == 200
        assert response.json()["state"] == "with_officer"
        assert response.json()["assigned_to"] == officer.id
        escalation = (await escalations_of(services, citizen.conversation_id))[-1]
        assert escalation.claimed_by == officer.id and escalation.claimed_at is not None

    async def test_the_citizen_is_told_an_officer_took_it(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await queue_citizen(client, services, "general")
        await client.post(conversation_url(citizen.conversation_id, "claim"), headers=admin_headers)
        replies = await citizen.wait_for_reply(2)
        assert replies[-1]["text"] == services.responses.officer_joined

    async def test_a_second_claim_by_the_holder_is_200(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await queue_citizen(client, services, "general")
        first = await client.post(conversation_url(citizen.conversation_id, "claim"), headers=admin_headers)
        second = await client.post(conversation_url(citizen.conversation_id, "claim"), headers=admin_headers)
        assert first.status_code == second.status_code == 200
        assert second.json() == first.json()

    async def test_a_conversation_another_officer_holds_is_409(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        citizen = await queue_citizen(client, services, "general")
        somsri = await make_officer(client, services, "somsri", ["general"])
        somchai = await make_officer(client, services, "somchai", ["general"])
        assert (
            await client.post(conversation_url(citizen.conversation_id, "claim"), headers=somsri.headers)
        ).status_code == 200

        assert (
            await client.post(conversation_url(citizen.conversation_id, "claim"), headers=somchai.headers)
        ).status_code == 409
        assert (await conversation_row(services, citizen.conversation_id)).assigned_to == somsri.id

    async def test_a_conversation_with_the_bot_cannot_be_claimed(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await queue_citizen(client, services, "general")
        await client.post(conversation_url(citizen.conversation_id, "resolve"), headers=admin_headers)
        assert (
            await client.post(conversation_url(citizen.conversation_id, "claim"), headers=admin_headers)
        ).status_code == 409


class TestReply:
    async def test_a_reply_reaches_the_citizen_through_web_chat(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        citizen = await queue_citizen(client, services, "general")
        officer = await make_officer(client, services, "somsri", ["general"])
        await client.post(conversation_url(citizen.conversation_id, "claim"), headers=officer.headers)

        response = await client.post(
            conversation_url(citizen.conversation_id, "messages"),
            json={"text": "สวัสดีค่ะ เจ้าหน้าที่ยินดีช่วยค่ะ"},
            headers=officer.headers,
        )

        assert response.status_code == 202
        message_id = response.json()["message_id"]
        seen = await citizen.wait_for_reply(3)
        assert seen[-1] == {
            **seen[-1],
            "id": message_id,
            "sender": "officer",
            "text": "สวัสดีค่ะ เจ้าหน้าที่ยินดีช่วยค่ะ",
        }

        async def sent() -> bool:
            detail = (
                await client.get(conversation_url(citizen.conversation_id), headers=officer.headers)
            ).json()
            mine = [m for m in detail["messages"] if m["id"] == message_id]
            return bool(mine) and mine[0]["delivery_status"] == "sent"

        await wait_for(sent)

    async def test_the_first_reply_time_is_recorded(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await queue_citizen(client, services, "general")
        await client.post(conversation_url(citizen.conversation_id, "claim"), headers=admin_headers)
        await client.post(
            conversation_url(citizen.conversation_id, "messages"), json={"text": "ค่ะ"}, headers=admin_headers
        )
        escalation = (await escalations_of(services, citizen.conversation_id))[-1]
        assert escalation.first_reply_at is not None

    async def test_replying_to_a_waiting_conversation_claims_it(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await queue_citizen(client, services, "general")
        response = await client.post(
            conversation_url(citizen.conversation_id, "messages"),
            json={"text": "สวัสดีค่ะ"},
            headers=admin_headers,
        )
        assert response.status_code == 202
        assert (
            await conversation_row(services, citizen.conversation_id)
        ).state == ConversationState.WITH_OFFICER

    async def test_replying_to_a_conversation_another_officer_holds_is_409(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        citizen = await queue_citizen(client, services, "general")
        somsri = await make_officer(client, services, "somsri", ["general"])
        somchai = await make_officer(client, services, "somchai", ["general"])
        await client.post(conversation_url(citizen.conversation_id, "claim"), headers=somsri.headers)
        response = await client.post(
            conversation_url(citizen.conversation_id, "messages"),
            json={"text": "ผมตอบเองครับ"},
            headers=somchai.headers,
        )
        assert response.status_code == 409

    async def test_replying_to_a_conversation_with_the_bot_is_409(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await queue_citizen(client, services, "general")
        await client.post(conversation_url(citizen.conversation_id, "resolve"), headers=admin_headers)
        response = await client.post(
            conversation_url(citizen.conversation_id, "messages"), json={"text": "ค่ะ"}, headers=admin_headers
        )
        assert response.status_code == 409

    async def test_empty_or_too_long_text_is_422(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await queue_citizen(client, services, "general", first_words=None)
        url = conversation_url(citizen.conversation_id, "messages")
        assert (await client.post(url, json={"text": "  \n "}, headers=admin_headers)).status_code == 422
        assert (await client.post(url, json={"text": "ก" * 2001}, headers=admin_headers)).status_code == 422
        assert (await client.post(url, json={"text": "ก" * 2000}, headers=admin_headers)).status_code == 202


class TestWhileWithAnOfficer:
    async def test_the_bot_stays_silent_and_the_officer_sees_every_message(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await queue_citizen(client, services, "general")
        await client.post(conversation_url(citizen.conversation_id, "claim"), headers=admin_headers)
        before = len(await citizen.wait_for_reply(2))

        message_id = await citizen.say("จดทะเบียนบริษัทออนไลน์ได้ไหม")

        detail = (await client.get(conversation_url(citizen.conversation_id), headers=admin_headers)).json()
        assert detail["messages"][-1]["id"] == message_id
        assert detail["messages"][-1]["sender"] == "citizen"

        async def handled() -> bool:
            row = await message_row(services, message_id)
            async with services.sessionmaker() as session:
                status = await session.scalar(select(WorkItem.status).where(WorkItem.message_id == row.id))
            return status == "done"

        await wait_for(handled)
        assert len(await citizen.replies()) == before  # no bot answer

    async def test_asking_for_a_person_while_waiting_repeats_the_queue_position(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        citizen = await queue_citizen(client, services, "general")
        await citizen.say("ขอคุยกับเจ้าหน้าที่")
        replies = await citizen.wait_for_reply(2)
        assert "คิวที่ 1" in replies[-1]["text"]
        assert replies[-1]["quick_replies"] == [services.responses.quick_reply_cancel]

    async def test_cancel_returns_a_waiting_citizen_to_the_bot_and_empties_the_queue(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await queue_citizen(client, services, "general")
        await citizen.say("ยกเลิก")
        replies = await citizen.wait_for_reply(2)
        assert replies[-1]["text"] == services.responses.escalation_cancelled
        assert (await conversation_row(services, citizen.conversation_id)).state == ConversationState.BOT
        queue = (await client.get("/api/officer/queue", headers=admin_headers)).json()["conversations"]
        assert queue == []


class TestResend:
    @pytest.fixture
    def hub_database_url(self, database_url: str) -> str:
        return database_url  # the outbox: both databases

    async def test_a_failed_reply_can_be_sent_again_as_a_new_attempt(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await queue_citizen(client, services, "general")
        await client.post(conversation_url(citizen.conversation_id, "claim"), headers=admin_headers)
        first = await client.post(
            conversation_url(citizen.conversation_id, "messages"),
            json={"text": "แนบลิงก์ให้ค่ะ"},
            headers=admin_headers,
        )
        failed_id = first.json()["message_id"]
        await wait_for(lambda: _status_is(services, failed_id, DeliveryStatus.SENT))
        async with services.sessionmaker() as session, session.begin():
            await session.execute(
                update(Message)
                .where(Message.id == int(failed_id))
                .values(delivery_status=DeliveryStatus.FAILED, delivery_error="platform said no")
            )
        detail = (await client.get(conversation_url(citizen.conversation_id), headers=admin_headers)).json()
        assert [m["delivery_status"] for m in detail["messages"] if m["id"] == failed_id] == ["failed"]

        again = await client.post(
            conversation_url(citizen.conversation_id, f"messages/{failed_id}/resend"), headers=admin_headers
        )

        assert again.status_code == 202
        new_id = again.json()["message_id"]
        assert new_id != failed_id
        await wait_for(lambda: _status_is(services, new_id, DeliveryStatus.SENT))
        resent = await message_row(services, new_id)
        assert (resent.text, resent.sender, resent.extra["resend_of"]) == ("แนบลิงก์ให้ค่ะ", "officer", failed_id)

    async def test_a_message_that_did_not_fail_is_not_resent(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await queue_citizen(client, services, "general")
        await client.post(conversation_url(citizen.conversation_id, "claim"), headers=admin_headers)
        sent = await client.post(
            conversation_url(citizen.conversation_id, "messages"), json={"text": "ค่ะ"}, headers=admin_headers
        )
        message_id = sent.json()["message_id"]
        response = await client.post(
            conversation_url(citizen.conversation_id, f"messages/{message_id}/resend"), headers=admin_headers
        )
        assert response.status_code == 409
        unknown = await client.post(
            conversation_url(citizen.conversation_id, "messages/999999/resend"), headers=admin_headers
        )
        assert unknown.status_code == 404


async def _status_is(services: Services, message_id: str, status: DeliveryStatus) -> bool:
    return (await message_row(services, message_id)).delivery_status == status
