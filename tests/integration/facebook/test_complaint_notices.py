"""Complaint status changes told on Messenger, inside Meta's windows (fake Graph API), on SQLite.

``TestHeldAfter24Hours`` runs on PostgreSQL too: releasing held notices locks their rows there.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import update

from app.complaints import notifications
from app.conversations.models import Conversation
from app.db.schema import utcnow
from tests.conftest import ADMIN_PASSWORD, wait_for
from tests.fakes.facebook.graph_api import first_event
from tests.integration.complaints.helpers import file_case, status_url
from tests.integration.facebook.conftest import Messenger
from tests.integration.officers.conftest import login

CITIZEN = "1134343043305865"
NOTE = "ส่งเรื่องให้งานจดทะเบียนตรวจสอบแล้วค่ะ"


@pytest.fixture
def hub_database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url  # which window a notice goes in: Meta's rules, not the database's


async def _case(messenger: Messenger, *, citizen_wrote_ago: dt.timedelta) -> str:
    """A Messenger citizen who wrote once, with a complaint case; their last message moved back."""
    await messenger.post_fixture("fbmq_message_text")
    await messenger.delivered_to(CITIZEN)  # the bot's reply
    conversation = await messenger.conversation_of(CITIZEN)
    async with messenger.services.sessionmaker() as session, session.begin():
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation.id)
            .values(last_inbound_at=utcnow() - citizen_wrote_ago)
        )
    return await file_case(messenger.services, conversation.id, "ไม่มีใครรับสายเลยค่ะ")


async def _change(messenger: Messenger, number: str, status: str, note: str = "") -> dict[str, Any]:
    headers = await login(messenger.client, "admin", ADMIN_PASSWORD)
    response = await messenger.client.post(
        status_url(number), json={"status": status, "note": note}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _notice(messenger: Messenger, number: str) -> dict[str, Any] | None:
    headers = await login(messenger.client, "admin", ADMIN_PASSWORD)
    detail = (await messenger.client.get(f"/api/officer/complaints/{number}", headers=headers)).json()
    notice: dict[str, Any] | None = detail["history"][-1]["notice"]
    return notice


def _updates(messenger: Messenger, number: str) -> list[Any]:
    return [r for r in messenger.graph.messages(CITIZEN) if number in (r.text or "")]


class TestWithin24Hours:
    async def test_a_bare_status_change_goes_as_a_response(self, messenger: Messenger) -> None:
        number = await _case(messenger, citizen_wrote_ago=dt.timedelta(hours=3))

        await _change(messenger, number, "in_progress")

        [request] = await wait_for(lambda: _updates(messenger, number), timeout=30)
        assert request.body["messaging_type"] == "RESPONSE" and "tag" not in request.body
        assert "กำลังดำเนินการ" in (request.text or "")
        assert await wait_for(lambda: _notice(messenger, number)) == {"state": "sent", "reason": None}


class TestAfter24Hours:
    async def test_an_officers_note_goes_with_the_human_agent_tag(self, messenger: Messenger) -> None:
        number = await _case(messenger, citizen_wrote_ago=dt.timedelta(days=2))

        await _change(messenger, number, "in_progress", NOTE)

        [request] = await wait_for(lambda: _updates(messenger, number), timeout=30)
        assert (request.body["messaging_type"], request.body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")
        assert NOTE in (request.text or "")


class TestHeldAfter24Hours:
    @pytest.fixture
    def hub_database_url(self, database_url: str) -> str:
        return database_url  # held notices are claimed under row locks (FOR UPDATE OF) on PostgreSQL

    async def test_a_bare_status_change_is_held_until_the_citizen_writes(self, messenger: Messenger) -> None:
        number = await _case(messenger, citizen_wrote_ago=dt.timedelta(days=2))

        changed = await _change(messenger, number, "in_progress")

        assert changed["history"][-1]["notice"] == {"state": "held", "reason": notifications.HELD_NEEDS_NOTE}
        assert _updates(messenger, number) == []

        def again(data: dict[str, Any]) -> None:
            event = first_event(data)
            event["message"]["mid"] = "mid.complaint-notice-again"
            event["message"]["text"] = "สวัสดีค่ะ"
            event["timestamp"] = int(utcnow().timestamp() * 1000)

        await messenger.post(messenger.fixtures.derived("fbmq_message_text", again))

        [request] = await wait_for(lambda: _updates(messenger, number), timeout=30)
        assert request.body["messaging_type"] == "RESPONSE" and "tag" not in request.body
        assert "กำลังดำเนินการ" in (request.text or "")
        assert await wait_for(lambda: _notice(messenger, number)) == {"state": "sent", "reason": None}
        # and before the bot's answer to the new message
        texts = [r.text for r in await messenger.delivered_to(CITIZEN, 3)]
        assert number in (texts[1] or "")


class TestAfter7Days:
    async def test_even_a_note_is_held_and_the_officer_is_told_why(self, messenger: Messenger) -> None:
        number = await _case(messenger, citizen_wrote_ago=dt.timedelta(days=8))

        changed = await _change(messenger, number, "closed", NOTE)

        assert changed["status"] == "closed"
        assert changed["history"][-1]["notice"] == {
            "state": "held",
            "reason": notifications.HELD_AFTER_7_DAYS,
        }
        assert _updates(messenger, number) == []
