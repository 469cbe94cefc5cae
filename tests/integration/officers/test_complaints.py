"""Complaints filed through the bot: description, tracking number, queue, status for the filer only.

On SQLite; filing and numbering (a counter upserted under concurrent filings) on PostgreSQL too.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import pytest
from sqlalchemy import select

from app.complaints import service as complaints
from app.complaints.models import ComplaintCase
from app.conversations import chats
from app.conversations.models import Conversation, ConversationState
from app.db.schema import utcnow
from app.services import Services
from tests.integration.officers.conftest import (
    Citizen,
    conversation_row,
    escalations_of,
    new_citizen,
    postback,
)

DESCRIPTION = "ยื่นจดทะเบียนออนไลน์ไปสองสัปดาห์แล้ว ยังไม่มีใครติดต่อกลับเลยค่ะ"


@pytest.fixture
def hub_database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url  # the bot's flow and who may see a status: the API's rules


async def _file(citizen: Citizen, services: Services) -> str:
    """Goes through the bot's complaint flow; returns the tracking number the citizen was given."""
    await citizen.say("ขอร้องเรียนค่ะ")
    asked = await citizen.wait_for_reply(1)
    assert asked[-1]["text"] == services.responses.complaint_ask_description
    await citizen.say(DESCRIPTION)
    filed = (await citizen.wait_for_reply(2))[-1]["text"]
    number = complaints.find_number(filed)
    assert number is not None, filed
    return number


class TestFiling:
    @pytest.fixture
    def hub_database_url(self, database_url: str) -> str:
        return database_url  # the case, its number and the escalation in the worker's transaction

    async def test_a_complaint_gets_a_tracking_number_and_goes_to_the_complaints_queue(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        citizen = await new_citizen(client, services)

        number = await _file(citizen, services)

        year = complaints.buddhist_year(utcnow())
        assert number == f"CMP-{year}-000001"
        async with services.sessionmaker() as session:
            case = await session.scalar(select(ComplaintCase).where(ComplaintCase.number == number))
        assert case is not None
        assert (case.description, case.department, case.status) == (DESCRIPTION, "complaints", "received")
        conversation = await conversation_row(services, citizen.conversation_id)
        assert (conversation.state, conversation.department) == (ConversationState.WAITING, "complaints")
        assert conversation.escalation_reason == "complaint"
        assert (await escalations_of(services, citizen.conversation_id))[-1].reason == "complaint"


class TestFilingFlow:
    async def test_the_officer_sees_the_case_with_the_conversation(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await new_citizen(client, services)
        number = await _file(citizen, services)
        queue = (await client.get("/api/officer/queue", headers=admin_headers)).json()["conversations"]
        assert [(c["id"], c["department"], c["reason"]) for c in queue] == [
            (citizen.conversation_id, "complaints", "complaint")
        ]
        detail = (
            await client.get(f"/api/officer/conversations/{citizen.conversation_id}", headers=admin_headers)
        ).json()
        assert [(c["number"], c["description"]) for c in detail["complaints"]] == [(number, DESCRIPTION)]

    async def test_cancel_instead_of_a_description_files_nothing(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        citizen = await new_citizen(client, services)
        await citizen.say("ขอร้องเรียนค่ะ")
        await citizen.wait_for_reply(1)
        await citizen.say("ยกเลิก")
        replies = await citizen.wait_for_reply(2)
        assert replies[-1]["text"] == services.responses.complaint_cancelled
        async with services.sessionmaker() as session:
            assert await session.scalar(select(ComplaintCase.id)) is None
        assert (await conversation_row(services, citizen.conversation_id)).state == ConversationState.BOT


class TestNumbering:
    @pytest.fixture
    def hub_database_url(self, database_url: str) -> str:
        return database_url  # a counter row upserted per year, under concurrent filings

    async def test_numbers_are_sequential_and_unique_under_concurrency(self, services: Services) -> None:
        conversations = []
        async with services.sessionmaker() as session, session.begin():
            for n in range(12):
                conversations.append(
                    await chats.get_or_create_conversation_for(session, "webchat", f"concurrent-{n}")
                )
        now = utcnow()

        async def file(conversation: Conversation) -> str:
            async with services.sessionmaker() as session, session.begin():
                case = await session.run_sync(
                    complaints.file_complaint, conversation, "เรื่อง", "complaints", now
                )
                await asyncio.sleep(0.01)  # hold the transaction open a moment
                return case.number

        numbers = await asyncio.gather(*(file(c) for c in conversations))

        year = complaints.buddhist_year(now)
        assert sorted(numbers) == [complaints.format_number(year, n) for n in range(1, 13)]

    async def test_numbering_restarts_with_the_thai_calendar_year(self, services: Services) -> None:
        async with services.sessionmaker() as session, session.begin():
            conversation = await chats.get_or_create_conversation_for(session, "webchat", "new-year")
            last_of_2569 = dt.datetime(2026, 12, 31, 16, 59, 59, tzinfo=dt.UTC)  # 23:59:59 in Bangkok
            first_of_2570 = dt.datetime(2026, 12, 31, 17, 0, 0, tzinfo=dt.UTC)  # midnight in Bangkok
            a = await session.run_sync(
                complaints.file_complaint, conversation, "ก", "complaints", last_of_2569
            )
            b = await session.run_sync(
                complaints.file_complaint, conversation, "ข", "complaints", last_of_2569
            )
            c = await session.run_sync(
                complaints.file_complaint, conversation, "ค", "complaints", first_of_2570
            )
        assert [a.number, b.number, c.number] == ["CMP-2569-000001", "CMP-2569-000002", "CMP-2570-000001"]


class TestStatus:
    async def test_the_filer_sees_the_status_from_the_number_alone(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await new_citizen(client, services)
        number = await _file(citizen, services)
        await client.post(
            f"/api/officer/conversations/{citizen.conversation_id}/resolve", headers=admin_headers
        )
        await citizen.wait_for_reply(3)
        status = await client.post(
            f"/api/officer/complaints/{number}/status", json={"status": "in_progress"}, headers=admin_headers
        )
        assert status.status_code == 200
        await citizen.wait_for_reply(4)  # the status change, told to the citizen

        await citizen.say(f"เรื่อง {number.lower()} ถึงไหนแล้วคะ")

        answer = (await citizen.wait_for_reply(5))[-1]["text"]
        assert number in answer
        assert services.responses.complaint_statuses["in_progress"] in answer
        assert services.kb.store.current.departments["complaints"].name_th in answer

    async def test_another_citizen_is_asked_for_the_pin_and_told_nothing(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        filer = await new_citizen(client, services)
        number = await _file(filer, services)
        stranger = await new_citizen(client, services)

        await stranger.say(number)

        answer = (await stranger.wait_for_reply(1))[-1]["text"]
        assert answer == services.responses.complaint_ask_pin
        assert DESCRIPTION not in answer

    async def test_an_unknown_number_gets_the_same_answer(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        citizen = await new_citizen(client, services)
        await citizen.say("CMP-2569-999999")
        answer = (await citizen.wait_for_reply(1))[-1]["text"]
        assert answer == services.responses.complaint_ask_pin

    async def test_asking_for_the_status_without_a_number_asks_for_it(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        filer = await new_citizen(client, services)
        number = await _file(filer, services)
        # the same citizen, later: the intent first, the number next
        await filer.client.post(
            f"/api/webchat/sessions/{filer.session_id}/messages",
            json={"text": "ยกเลิก", "client_message_id": "leave-queue"},
            headers=filer.headers,
        )
        await filer.wait_for_reply(3)
        await filer.say("ติดตามเรื่องร้องเรียนค่ะ")
        asked = (await filer.wait_for_reply(4))[-1]["text"]
        assert asked == services.responses.complaint_ask_number
        await filer.say(number)
        answer = (await filer.wait_for_reply(5))[-1]["text"]
        assert number in answer and services.responses.complaint_statuses["received"] in answer


class TestComplaintButton:
    async def test_the_complaint_button_asks_for_the_description(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        citizen = await new_citizen(client, services)
        await postback(services, citizen.session_id, "complaint")
        asked = (await citizen.wait_for_reply(1))[-1]
        assert asked["text"] == services.responses.complaint_ask_description
        assert asked["quick_replies"] == [services.responses.quick_reply_cancel]
        assert (await conversation_row(services, citizen.conversation_id)).awaiting == "complaint_description"
