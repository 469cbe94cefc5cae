"""Transfer to another department with an internal note; resolve back to the bot with a rating."""

from __future__ import annotations

import httpx
import pytest

from app.conversations.models import ConversationState
from app.officers.models import Role
from app.services import Services
from tests.conftest import wait_for
from tests.integration.officers.conftest import (
    conversation_row,
    conversation_url,
    escalations_of,
    hours_ago,
    make_officer,
    postback,
    queue_citizen,
)


@pytest.fixture
def hub_database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url  # the API's rules: the database cannot change them


class TestTransfer:
    async def test_transfer_moves_the_conversation_to_the_other_departments_queue(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        citizen = await queue_citizen(client, services, "general", waiting_since=hours_ago(0.2))
        general = await make_officer(client, services, "somsri", ["general"])
        accounts = await make_officer(client, services, "somying", ["accounts"])
        await client.post(conversation_url(citizen.conversation_id, "claim"), headers=general.headers)

        response = await client.post(
            conversation_url(citizen.conversation_id, "transfer"),
            json={"department": "accounts", "note": "ถามเรื่องงบการเงินปี 2568 ค่ะ"},
            headers=general.headers,
        )

        assert response.status_code == 200
        assert response.json()["state"] == "waiting"
        assert response.json()["department"] == "accounts"
        queue = (await client.get("/api/officer/queue", headers=accounts.headers)).json()["conversations"]
        assert [c["id"] for c in queue] == [citizen.conversation_id]
        assert queue[0]["over_target"] is False  # accounts' target is 30 minutes; 12 waited
        assert (await client.get("/api/officer/queue", headers=general.headers)).json()["conversations"] == []
        # the transferring officer no longer sees another department's conversation
        assert (
            await client.get(conversation_url(citizen.conversation_id), headers=general.headers)
        ).status_code == 404
        escalation = (await escalations_of(services, citizen.conversation_id))[-1]
        assert escalation.department == "accounts" and escalation.resolved_at is None

    async def test_the_internal_note_is_shown_to_officers_and_never_to_the_citizen(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await queue_citizen(client, services, "general")
        note = "ผู้ติดต่อเคยโทรมาแล้ว ช่วยดูด่วน"
        await client.post(
            conversation_url(citizen.conversation_id, "transfer"),
            json={"department": "registration", "note": note},
            headers=admin_headers,
        )
        await client.post(
            conversation_url(citizen.conversation_id, "notes"),
            json={"text": "โน้ตที่สอง"},
            headers=admin_headers,
        )

        detail = (await client.get(conversation_url(citizen.conversation_id), headers=admin_headers)).json()
        assert [(n["kind"], n["text"]) for n in detail["notes"]] == [("transfer", note), ("note", "โน้ตที่สอง")]
        assert detail["notes"][0]["detail"] == {"from": "general", "to": "registration"}
        assert detail["notes"][0]["officer_username"] == "admin"
        assert all(m["text"] not in (note, "โน้ตที่สอง") for m in detail["messages"])
        replies = await citizen.wait_for_reply(2)
        citizen_sees = " ".join(m["text"] for m in await citizen.messages())
        assert note not in citizen_sees and "โน้ตที่สอง" not in citizen_sees
        name = services.kb.store.current.departments["registration"].name_th
        assert name in replies[-1]["text"]  # the citizen is told where the question went

    async def test_transferring_a_conversation_another_officer_holds_is_409(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        citizen = await queue_citizen(client, services, "general")
        somsri = await make_officer(client, services, "somsri", ["general"])
        somchai = await make_officer(client, services, "somchai", ["general"])
        await client.post(conversation_url(citizen.conversation_id, "claim"), headers=somsri.headers)
        response = await client.post(
            conversation_url(citizen.conversation_id, "transfer"),
            json={"department": "accounts"},
            headers=somchai.headers,
        )
        assert response.status_code == 409

    async def test_a_supervisor_may_transfer_what_another_officer_holds(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        citizen = await queue_citizen(client, services, "general")
        somsri = await make_officer(client, services, "somsri", ["general"])
        boss = await make_officer(client, services, "boss", ["general"], Role.SUPERVISOR)
        await client.post(conversation_url(citizen.conversation_id, "claim"), headers=somsri.headers)
        response = await client.post(
            conversation_url(citizen.conversation_id, "transfer"),
            json={"department": "accounts"},
            headers=boss.headers,
        )
        assert response.status_code == 200

    async def test_an_unknown_department_is_422(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await queue_citizen(client, services, "general", first_words=None)
        response = await client.post(
            conversation_url(citizen.conversation_id, "transfer"),
            json={"department": "nowhere"},
            headers=admin_headers,
        )
        assert response.status_code == 422


class TestAssign:
    async def test_a_supervisor_hands_a_conversation_to_an_officer_of_the_department(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        citizen = await queue_citizen(client, services, "general", first_words=None)
        somsri = await make_officer(client, services, "somsri", ["general"])
        boss = await make_officer(client, services, "boss", ["general"], Role.SUPERVISOR)
        response = await client.post(
            conversation_url(citizen.conversation_id, "assign"),
            json={"officer_id": somsri.id},
            headers=boss.headers,
        )
        assert response.status_code == 200
        assert response.json()["assigned_to"] == somsri.id

    async def test_an_officer_cannot_reassign(self, client: httpx.AsyncClient, services: Services) -> None:
        citizen = await queue_citizen(client, services, "general", first_words=None)
        somsri = await make_officer(client, services, "somsri", ["general"])
        response = await client.post(
            conversation_url(citizen.conversation_id, "assign"),
            json={"officer_id": somsri.id},
            headers=somsri.headers,
        )
        assert response.status_code == 403


class TestResolve:
    async def test_resolve_hands_back_to_the_bot_and_asks_for_a_rating(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await queue_citizen(client, services, "general")
        await client.post(conversation_url(citizen.conversation_id, "claim"), headers=admin_headers)

        response = await client.post(
            conversation_url(citizen.conversation_id, "resolve"), headers=admin_headers
        )

        assert response.status_code == 200
        assert response.json()["state"] == "bot"
        assert response.json()["assigned_to"] is None
        replies = await citizen.wait_for_reply(3)
        assert replies[-1]["text"] == services.responses.rating_request
        assert replies[-1]["quick_replies"] == ["1", "2", "3", "4", "5"]
        escalation = (await escalations_of(services, citizen.conversation_id))[-1]
        assert escalation.resolved_at is not None

    async def test_the_rating_is_stored_and_thanked(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await queue_citizen(client, services, "general")
        await client.post(conversation_url(citizen.conversation_id, "claim"), headers=admin_headers)
        await client.post(conversation_url(citizen.conversation_id, "resolve"), headers=admin_headers)
        await citizen.wait_for_reply(3)

        await citizen.say("4")

        replies = await citizen.wait_for_reply(4)
        assert replies[-1]["text"] == services.responses.rating_thanks.format(rating=4)
        escalation = (await escalations_of(services, citizen.conversation_id))[-1]
        assert escalation.rating == 4

    async def test_after_resolve_the_bot_answers_the_next_question(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await queue_citizen(client, services, "general")
        await client.post(conversation_url(citizen.conversation_id, "claim"), headers=admin_headers)
        await client.post(conversation_url(citizen.conversation_id, "resolve"), headers=admin_headers)
        await citizen.wait_for_reply(3)

        await citizen.say("จดทะเบียนบริษัทออนไลน์ได้ไหม")

        replies = await citizen.wait_for_reply(4)
        assert replies[-1]["sender"] == "bot"
        assert "http" in replies[-1]["text"]  # a knowledge-base answer with its source
        escalation = (await escalations_of(services, citizen.conversation_id))[-1]
        assert escalation.rating is None  # a question is not a rating
        assert (await conversation_row(services, citizen.conversation_id)).awaiting is None

    async def test_resolving_what_another_officer_holds_is_409_but_a_supervisor_may(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        citizen = await queue_citizen(client, services, "general")
        somsri = await make_officer(client, services, "somsri", ["general"])
        somchai = await make_officer(client, services, "somchai", ["general"])
        boss = await make_officer(client, services, "boss", ["general"], Role.SUPERVISOR)
        await client.post(conversation_url(citizen.conversation_id, "claim"), headers=somsri.headers)
        assert (
            await client.post(conversation_url(citizen.conversation_id, "resolve"), headers=somchai.headers)
        ).status_code == 409
        assert (
            await client.post(conversation_url(citizen.conversation_id, "resolve"), headers=boss.headers)
        ).status_code == 200

    async def test_a_conversation_with_the_bot_cannot_be_resolved(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await queue_citizen(client, services, "general", first_words=None)
        assert (
            await client.post(conversation_url(citizen.conversation_id, "resolve"), headers=admin_headers)
        ).status_code == 200
        assert (
            await client.post(conversation_url(citizen.conversation_id, "resolve"), headers=admin_headers)
        ).status_code == 409

    async def test_asking_for_a_person_again_opens_a_new_escalation(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await queue_citizen(client, services, "general")
        await client.post(conversation_url(citizen.conversation_id, "resolve"), headers=admin_headers)
        await citizen.wait_for_reply(2)
        await citizen.say("ขอคุยกับเจ้าหน้าที่อีกครั้งค่ะ")

        async def waiting() -> bool:
            row = await conversation_row(services, citizen.conversation_id)
            return row.state == ConversationState.WAITING

        await wait_for(waiting)
        assert len(await escalations_of(services, citizen.conversation_id)) == 2


class TestRatingButton:
    async def test_a_rate_postback_is_stored_too(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await queue_citizen(client, services, "general")
        await client.post(conversation_url(citizen.conversation_id, "resolve"), headers=admin_headers)
        await citizen.wait_for_reply(2)

        await postback(services, citizen.session_id, "rate:5")

        replies = await citizen.wait_for_reply(3)
        assert replies[-1]["text"] == services.responses.rating_thanks.format(rating=5)
        assert (await escalations_of(services, citizen.conversation_id))[-1].rating == 5
