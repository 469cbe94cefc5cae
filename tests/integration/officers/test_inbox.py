"""The inbox around the queue: search and filters, the citizen panel, department counts, assignees.

On SQLite; the search (``ILIKE`` and its escapes) and the citizen panel's history queries on
PostgreSQL too.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.complaints import service as complaints
from app.conversations.models import Citizen as CitizenRow
from app.conversations.models import Conversation, ConversationState
from app.db.schema import utcnow
from app.officers.models import Role
from app.services import Services
from tests.integration.officers.conftest import (
    conversation_url,
    hours_ago,
    make_officer,
    new_citizen,
    queue_citizen,
    wait_until_state,
)


@pytest.fixture
def hub_database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url  # filters, counts and access are the API's rules


async def _ids(client: httpx.AsyncClient, headers: dict[str, str], path: str, **params: Any) -> list[str]:
    response = await client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()["conversations"]]


async def _file_case(services: Services, conversation_id: str, department: str = "complaints") -> str:
    async with services.sessionmaker() as session, session.begin():
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        case = await session.run_sync(
            complaints.file_complaint, conversation, "เจ้าหน้าที่ไม่รับสาย", department, utcnow()
        )
        return case.number


async def _channel_user_id(services: Services, conversation_id: str) -> str:
    async with services.sessionmaker() as session:
        external_id = await session.scalar(
            select(CitizenRow.external_id)
            .join(Conversation, Conversation.citizen_id == CitizenRow.id)
            .where(Conversation.id == conversation_id)
        )
    assert external_id
    return str(external_id)


class TestQueueSearch:
    @pytest.fixture
    def hub_database_url(self, database_url: str) -> str:
        return database_url  # ILIKE and its escapes differ between the databases

    async def test_finds_a_conversation_by_the_citizens_words_case_number_or_channel_user_id(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        speaking = await queue_citizen(client, services, first_words="ส่งงบการเงินไม่ผ่านค่ะ")
        filed = await queue_citizen(client, services, "complaints", first_words="ร้องเรียนค่ะ")
        other = await queue_citizen(client, services, first_words="สอบถามค่ะ")
        number = await _file_case(services, filed.conversation_id)
        user_id = await _channel_user_id(services, other.conversation_id)
        queue = "/api/officer/queue"

        assert await _ids(client, admin_headers, queue, q="งบการเงิน") == [speaking.conversation_id]
        assert await _ids(client, admin_headers, queue, q=number) == [filed.conversation_id]
        # as a citizen would write it: no dashes, short sequence
        spaced = number.replace("-", " ").replace(" 00", " ")
        assert await _ids(client, admin_headers, queue, q=spaced) == [filed.conversation_id]
        assert await _ids(client, admin_headers, queue, q=user_id) == [other.conversation_id]
        assert await _ids(client, admin_headers, queue, q="ไม่มีใครพูดคำนี้") == []

    async def test_like_wildcards_in_the_search_are_taken_literally(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        await queue_citizen(client, services, first_words="สอบถามค่ะ")

        assert await _ids(client, admin_headers, "/api/officer/queue", q="%") == []

    async def test_without_parameters_the_queue_is_as_before(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        first = await queue_citizen(client, services, waiting_since=hours_ago(0.2))
        second = await queue_citizen(client, services, "accounts", waiting_since=hours_ago(0.1))

        expected = [first.conversation_id, second.conversation_id]
        assert await _ids(client, admin_headers, "/api/officer/queue") == expected
        assert await _ids(client, admin_headers, "/api/officer/queue", q="   ") == expected


class TestQueueFilters:
    async def test_department_channel_and_breached_target_filter_the_queue(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        late = await queue_citizen(client, services, "accounts", waiting_since=hours_ago(5), first_words=None)
        fresh = await queue_citizen(client, services, "general", first_words=None)
        queue = "/api/officer/queue"

        assert await _ids(client, admin_headers, queue, department="accounts") == [late.conversation_id]
        assert await _ids(client, admin_headers, queue, breached="true") == [late.conversation_id]
        assert await _ids(client, admin_headers, queue, breached="false") == [fresh.conversation_id]
        assert await _ids(client, admin_headers, queue, channel="line") == []
        assert len(await _ids(client, admin_headers, queue, channel="webchat")) == 2

    async def test_an_unknown_channel_or_department_is_422(
        self, client: httpx.AsyncClient, admin_headers: dict[str, str]
    ) -> None:
        for params in ({"channel": "telegram"}, {"department": "nowhere"}, {"q": "x" * 201}):
            response = await client.get("/api/officer/queue", params=params, headers=admin_headers)
            assert response.status_code == 422, params

    async def test_another_departments_conversations_stay_out_of_reach(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        await queue_citizen(client, services, "accounts", first_words="ส่งงบการเงินค่ะ")
        officer = await make_officer(client, services, "somsri", ["general"])

        found = await _ids(client, officer.headers, "/api/officer/queue", department="accounts", q="งบ")
        assert found == []

    async def test_held_conversations_are_searched_too(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await queue_citizen(client, services, first_words="หนังสือรับรองหายค่ะ")
        await client.post(conversation_url(citizen.conversation_id, "claim"), headers=admin_headers)
        held = "/api/officer/conversations"

        assert await _ids(client, admin_headers, held, q="หนังสือรับรอง") == [citizen.conversation_id]
        assert await _ids(client, admin_headers, held, q="งบการเงิน") == []


class TestCitizenPanel:
    @pytest.fixture
    def hub_database_url(self, database_url: str) -> str:
        return database_url  # earlier hand-overs and cases, found by stored times across tables

    async def test_lists_earlier_hand_overs_and_cases_of_the_same_channel_identity(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await queue_citizen(client, services, first_words="ขอคุยเรื่องงบการเงินค่ะ")
        await client.post(conversation_url(citizen.conversation_id, "claim"), headers=admin_headers)
        await client.post(conversation_url(citizen.conversation_id, "resolve"), headers=admin_headers)
        number = await _file_case(services, citizen.conversation_id)
        stranger = await queue_citizen(client, services)
        await _file_case(services, stranger.conversation_id)

        response = await client.get(
            conversation_url(citizen.conversation_id, "citizen"), headers=admin_headers
        )

        assert response.status_code == 200
        body = response.json()
        assert body["citizen"]["channel"] == "webchat"
        assert body["citizen"]["channel_user_id"] == citizen.session_id
        [earlier] = body["escalations"]
        assert earlier["question"] == "ขอคุยเรื่องงบการเงินค่ะ"
        assert earlier["claimed_by"] == "admin"
        assert earlier["resolved_at"] is not None and earlier["current"] is False
        assert [case["number"] for case in body["cases"]] == [number]
        assert body["cases"][0]["description"] == "เจ้าหน้าที่ไม่รับสาย"

    async def test_a_hand_over_is_described_by_the_question_before_the_request_for_a_person(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await new_citizen(client, services)
        await citizen.say("ส่งงบการเงินออนไลน์ทำยังไง")
        await citizen.wait_for_reply(1)
        await citizen.say("ขอคุยกับเจ้าหน้าที่ค่ะ")
        await wait_until_state(services, citizen.conversation_id, ConversationState.WAITING)

        response = await client.get(
            conversation_url(citizen.conversation_id, "citizen"), headers=admin_headers
        )

        [current] = response.json()["escalations"]
        assert current["question"] == "ส่งงบการเงินออนไลน์ทำยังไง"
        assert current["current"] is True


class TestCitizenPanelAccess:
    async def test_another_departments_case_shows_no_description(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        citizen = await queue_citizen(client, services, "general")
        await _file_case(services, citizen.conversation_id, "complaints")
        officer = await make_officer(client, services, "somsri", ["general"])

        response = await client.get(
            conversation_url(citizen.conversation_id, "citizen"), headers=officer.headers
        )

        [case] = response.json()["cases"]
        assert case["status"] == "received" and case["description"] is None

    async def test_another_departments_conversation_is_404(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        citizen = await queue_citizen(client, services, "accounts")
        officer = await make_officer(client, services, "somsri", ["general"])

        response = await client.get(
            conversation_url(citizen.conversation_id, "citizen"), headers=officer.headers
        )

        assert response.status_code == 404

    async def test_without_a_token_it_is_401(self, client: httpx.AsyncClient, services: Services) -> None:
        citizen = await queue_citizen(client, services, first_words=None)

        response = await client.get(conversation_url(citizen.conversation_id, "citizen"))

        assert response.status_code == 401


class TestCounts:
    async def test_counts_waiting_with_officer_and_breached_per_department_of_mine(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        supervisor = await make_officer(client, services, "malee", ["accounts", "general"], Role.SUPERVISOR)
        await queue_citizen(client, services, "accounts", waiting_since=hours_ago(5), first_words=None)
        await queue_citizen(client, services, "accounts", first_words=None)
        held = await queue_citizen(client, services, "general", first_words=None)
        await queue_citizen(client, services, "registration", first_words=None)
        await client.post(conversation_url(held.conversation_id, "claim"), headers=supervisor.headers)

        response = await client.get("/api/officer/counts", headers=supervisor.headers)

        assert response.status_code == 200
        assert response.json()["departments"] == [
            {"department": "accounts", "waiting": 2, "with_officer": 0, "breached": 1},
            {"department": "general", "waiting": 0, "with_officer": 1, "breached": 0},
        ]


class TestAssignees:
    async def test_a_supervisor_lists_the_officers_of_their_departments(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        supervisor = await make_officer(client, services, "malee", ["accounts"], Role.SUPERVISOR)
        await make_officer(client, services, "somsri", ["accounts", "general"])
        await make_officer(client, services, "somchai", ["registration"])

        response = await client.get("/api/officer/officers", headers=supervisor.headers)

        assert response.status_code == 200
        names = [o["username"] for o in response.json()["officers"]]
        assert "somsri" in names and "malee" in names and "admin" in names
        assert "somchai" not in names

    async def test_an_officer_may_not_list_them(self, client: httpx.AsyncClient, services: Services) -> None:
        officer = await make_officer(client, services, "somsri", ["accounts"])

        response = await client.get("/api/officer/officers", headers=officer.headers)

        assert response.status_code == 403
