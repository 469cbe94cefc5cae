"""Queue rows say what the citizen asked about: the entry routing used (``topic``) and ``question``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from app.conversations.models import Message
from app.services import Services
from app.settings import Settings
from tests.conftest import make_settings, wait_for
from tests.integration.officers.conftest import escalations_of, new_citizen
from tests.integration.officers.test_case_status_anywhere import file_complaint


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url  # routing does not depend on the database


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


async def queue_row(
    client: httpx.AsyncClient, headers: dict[str, str], conversation_id: str
) -> dict[str, Any]:
    rows = (await client.get("/api/officer/queue", headers=headers)).json()["conversations"]
    found = [row for row in rows if row["id"] == conversation_id]
    assert found, rows
    row: dict[str, Any] = found[0]
    return row


def title_of(services: Services, faq_id: str) -> str:
    entry = services.kb.store.current.entry(faq_id)
    assert entry is not None
    return entry.title


class TestQueueRows:
    async def test_a_request_naming_its_topic(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await new_citizen(client, services)
        request = "ขอคุยกับเจ้าหน้าที่เรื่องส่งงบการเงินค่ะ"

        await citizen.say(request)
        await citizen.wait_for_reply(1)

        row = await queue_row(client, admin_headers, citizen.conversation_id)
        assert row["department"] == "accounts"
        assert row["topic"]["faq_id"].startswith("financial_statement")
        assert row["topic"]["title"] == title_of(services, row["topic"]["faq_id"])
        assert row["question"] == request  # more than a request for a person
        escalation = (await escalations_of(services, citizen.conversation_id))[-1]
        assert escalation.topic_faq_id == row["topic"]["faq_id"]  # kept with the hand-over too

    async def test_the_question_before_a_bare_request(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await new_citizen(client, services)
        question = "ขอหนังสือรับรองบริษัทออนไลน์ยังไงคะ"
        await citizen.say(question)
        await citizen.wait_for_reply(1)

        await citizen.say("ขอคุยกับเจ้าหน้าที่ค่ะ")
        await citizen.wait_for_reply(2)

        row = await queue_row(client, admin_headers, citizen.conversation_id)
        assert row["department"] == "information"
        assert row["topic"] == {
            "faq_id": "company_certificate",
            "title": title_of(services, "company_certificate"),
        }
        assert row["question"] == question  # not "ขอคุยกับเจ้าหน้าที่ค่ะ"

    async def test_no_topic_and_no_question(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await new_citizen(client, services)
        await citizen.say("สวัสดีค่ะ")
        await citizen.wait_for_reply(1)
        await citizen.say("คุยกับคนได้ไหมคะ")
        await citizen.wait_for_reply(2)

        row = await queue_row(client, admin_headers, citizen.conversation_id)
        assert (row["department"], row["topic"], row["question"]) == ("general", None, None)

    async def test_a_complaint_shows_its_description(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await new_citizen(client, services)
        await file_complaint(citizen)

        row = await queue_row(client, admin_headers, citizen.conversation_id)
        assert row["department"] == "complaints" and row["topic"] is None
        assert row["question"] and "ยื่นจดทะเบียนออนไลน์" in row["question"]

    async def test_more_detail_while_waiting_becomes_the_question(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await new_citizen(client, services)
        await citizen.say("ขอสายเจ้าหน้าที่")
        await citizen.wait_for_reply(1)
        await citizen.say("ขอสายเจ้าหน้าที่อีกครั้งค่ะ")  # still a bare request: answered, not the question
        await citizen.wait_for_reply(2)
        detail = "ยื่นเพิ่มทุนแล้วระบบแจ้งว่าเอกสารไม่ครบค่ะ"

        await citizen.say(detail)

        async def shown() -> bool:
            return (await queue_row(client, admin_headers, citizen.conversation_id))["question"] == detail

        await wait_for(shown)

    async def test_the_row_shows_the_message_itself_so_redacting_it_empties_the_row(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await new_citizen(client, services)
        message_id = await citizen.say("ขอคุยกับเจ้าหน้าที่เรื่องจองชื่อบริษัทค่ะ")
        await citizen.wait_for_reply(1)
        assert (await queue_row(client, admin_headers, citizen.conversation_id))["question"]

        async with services.sessionmaker() as session, session.begin():  # as retention or an unsend does
            message = await session.get(Message, int(message_id))
            assert message is not None
            message.text = None

        row = await queue_row(client, admin_headers, citizen.conversation_id)
        assert row["question"] is None and row["department"] == "registration"
