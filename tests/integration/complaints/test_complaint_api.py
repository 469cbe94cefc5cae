"""The complaint-case API: listing, a case with its history, status changes told to the web-chat citizen.

On SQLite; a status change (row lock, history order, the outbox row) and the listing's search
(``ILIKE`` and its escapes) on PostgreSQL too.
"""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from app.complaints import service as complaints
from app.complaints.models import ComplaintCase
from app.conversations import service as conversations
from app.conversations.models import Conversation, ConversationState
from app.db.schema import utcnow
from app.services import Services
from tests.conftest import ADMIN_PASSWORD
from tests.integration.complaints.helpers import audit_of, file_case, status_url, updates_of
from tests.integration.officers.conftest import (
    OfficerSession,
    conversation_url,
    login,
    make_officer,
    new_citizen,
)

DESCRIPTION = "ยื่นจดทะเบียนออนไลน์ไปสองสัปดาห์แล้ว ยังไม่มีใครติดต่อกลับเลยค่ะ"


@pytest.fixture
def hub_database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url  # refusals, access and the flow around a case: the API's rules


@pytest.fixture
async def complaints_officer(client: httpx.AsyncClient, services: Services) -> OfficerSession:
    return await make_officer(client, services, "somchai", ["complaints"])


class TestStatusChange:
    """Where the database matters: locking, history order, the outbox row."""

    @pytest.fixture
    def hub_database_url(self, database_url: str) -> str:
        return database_url

    async def test_a_change_is_stored_audited_and_sent_to_the_citizen(
        self, client: httpx.AsyncClient, services: Services, complaints_officer: OfficerSession
    ) -> None:
        citizen = await new_citizen(client, services)
        number = await file_case(services, citizen.conversation_id, DESCRIPTION)

        response = await client.post(
            status_url(number),
            json={"status": "in_progress", "note": "ส่งเรื่องให้งานจดทะเบียนตรวจสอบแล้วค่ะ"},
            headers=complaints_officer.headers,
        )

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "in_progress"
        assert [(h["status"], h["by"], h["note"]) for h in body["history"]] == [
            ("received", "citizen", ""),
            ("in_progress", "somchai", "ส่งเรื่องให้งานจดทะเบียนตรวจสอบแล้วค่ะ"),
        ]
        told = (await citizen.wait_for_reply(1))[-1]
        assert number in told["text"]
        assert "กำลังดำเนินการ" in told["text"]
        assert "ส่งเรื่องให้งานจดทะเบียนตรวจสอบแล้วค่ะ" in told["text"]
        assert told["sender"] == "officer"
        [audit] = await audit_of(services, number)
        assert (audit.officer_id, audit.action) == (complaints_officer.id, "case_status")
        assert (audit.detail["from"], audit.detail["to"]) == ("received", "in_progress")

    async def test_the_full_lifecycle_keeps_its_history_in_order(
        self, client: httpx.AsyncClient, services: Services, complaints_officer: OfficerSession
    ) -> None:
        citizen = await new_citizen(client, services)
        number = await file_case(services, citizen.conversation_id, DESCRIPTION)
        headers = complaints_officer.headers

        await client.post(status_url(number), json={"status": "in_progress"}, headers=headers)
        closed = await client.post(
            status_url(number), json={"status": "closed", "note": "ติดต่อผู้ร้องเรียนและแก้ไขแล้ว"}, headers=headers
        )

        assert closed.status_code == 200
        history = closed.json()["history"]
        assert [h["status"] for h in history] == ["received", "in_progress", "closed"]
        assert [dt.datetime.fromisoformat(h["at"]) for h in history] == sorted(
            dt.datetime.fromisoformat(h["at"]) for h in history
        )
        texts = [m["text"] for m in await citizen.wait_for_reply(2)]
        assert "กำลังดำเนินการ" in texts[0] and "หมายเหตุ" not in texts[0]
        assert "ดำเนินการเสร็จสิ้น" in texts[1] and "ติดต่อผู้ร้องเรียนและแก้ไขแล้ว" in texts[1]
        async with services.sessionmaker() as session:
            case = await session.get(ComplaintCase, (await updates_of(services, number))[0].case_id)
        assert case is not None and case.closed_at is not None


class TestRefusedRequests:
    async def test_closing_needs_a_note_and_a_refused_close_stores_nothing(
        self, client: httpx.AsyncClient, services: Services, complaints_officer: OfficerSession
    ) -> None:
        citizen = await new_citizen(client, services)
        number = await file_case(services, citizen.conversation_id, DESCRIPTION)

        for body in ({"status": "closed"}, {"status": "closed", "note": "  \n "}):
            response = await client.post(status_url(number), json=body, headers=complaints_officer.headers)
            assert response.status_code == 422, body

        detail = (
            await client.get(f"/api/officer/complaints/{number}", headers=complaints_officer.headers)
        ).json()
        assert detail["status"] == "received"
        assert len(detail["history"]) == 1
        assert await updates_of(services, number) == []
        assert await audit_of(services, number) == []
        assert await citizen.replies() == []

    async def test_the_same_status_without_a_note_is_refused(
        self, client: httpx.AsyncClient, services: Services, complaints_officer: OfficerSession
    ) -> None:
        citizen = await new_citizen(client, services)
        number = await file_case(services, citizen.conversation_id, DESCRIPTION)
        response = await client.post(
            status_url(number), json={"status": "received"}, headers=complaints_officer.headers
        )
        assert response.status_code == 409
        assert await updates_of(services, number) == []

    async def test_an_unknown_status_filter_is_422(
        self, client: httpx.AsyncClient, complaints_officer: OfficerSession
    ) -> None:
        response = await client.get("/api/officer/complaints?status=lost", headers=complaints_officer.headers)
        assert response.status_code == 422
        too_long = {"q": "ก" * 201}
        response = await client.get(
            "/api/officer/complaints", params=too_long, headers=complaints_officer.headers
        )
        assert response.status_code == 422


class TestAccess:
    async def test_another_department_or_an_unknown_number_is_not_found(
        self, client: httpx.AsyncClient, services: Services, complaints_officer: OfficerSession
    ) -> None:
        citizen = await new_citizen(client, services)
        number = await file_case(services, citizen.conversation_id, DESCRIPTION)
        outsider = await make_officer(client, services, "registrar", ["registration"])

        listed = await client.get("/api/officer/complaints", headers=outsider.headers)
        assert listed.json() == {"complaints": []}
        assert (
            await client.get(f"/api/officer/complaints/{number}", headers=outsider.headers)
        ).status_code == 404
        changed = await client.post(
            status_url(number), json={"status": "in_progress"}, headers=outsider.headers
        )
        assert changed.status_code == 404
        for unknown in ("CMP-2569-999999", "not-a-number"):
            response = await client.get(
                f"/api/officer/complaints/{unknown}", headers=complaints_officer.headers
            )
            assert response.status_code == 404
        assert await updates_of(services, number) == []

    async def test_no_token_is_401(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/api/officer/complaints")).status_code == 401
        assert (
            await client.post(status_url("CMP-2569-000001"), json={"status": "in_progress"})
        ).status_code == 401


class TestListing:
    @pytest.fixture
    def hub_database_url(self, database_url: str) -> str:
        return database_url  # ILIKE and its escapes differ between the databases

    async def test_newest_first_filtered_by_status_and_searched_by_number_or_text(
        self, client: httpx.AsyncClient, services: Services, complaints_officer: OfficerSession
    ) -> None:
        citizen = await new_citizen(client, services)
        now = utcnow()
        old = await file_case(
            services, citizen.conversation_id, "เว็บไซต์ล่มตอนยื่นงบการเงิน", at=now - dt.timedelta(days=2)
        )
        new = await file_case(services, citizen.conversation_id, "เจ้าหน้าที่ไม่รับสาย 100%_ครั้ง", at=now)
        headers = complaints_officer.headers
        await client.post(status_url(old), json={"status": "in_progress"}, headers=headers)

        async def listed(**params: str) -> list[str]:
            response = await client.get("/api/officer/complaints", params=params, headers=headers)
            assert response.status_code == 200
            return [c["number"] for c in response.json()["complaints"]]

        assert await listed() == [new, old]
        assert await listed(status="in_progress") == [old]
        assert await listed(status="received") == [new]
        assert await listed(q="งบการเงิน") == [old]
        assert await listed(q="100%_") == [new]  # LIKE wildcards are searched as text
        assert await listed(q="%") == [new]  # not "anything"
        sequence = int(old.rsplit("-", 1)[1])
        assert await listed(q=f"cmp {old.split('-')[1]} {sequence}") == [old]  # as citizens type it
        assert await listed(q=old.lower()) == [old]
        row = (await client.get("/api/officer/complaints", params={"q": new}, headers=headers)).json()[
            "complaints"
        ][0]
        assert set(row) == {
            "number",
            "department",
            "channel",
            "status",
            "summary",
            "created_at",
            "updated_at",
            "conversation_id",
        }
        assert (row["channel"], row["department"], row["conversation_id"]) == (
            "webchat",
            "complaints",
            citizen.conversation_id,
        )


class TestCaseOutlivesItsConversation:
    async def test_transferred_cancelled_and_resolved_conversations_keep_their_case_listed(
        self, client: httpx.AsyncClient, services: Services, complaints_officer: OfficerSession
    ) -> None:
        admin = await login(client, "admin", ADMIN_PASSWORD)
        citizen = await new_citizen(client, services)
        await citizen.say("ขอร้องเรียนค่ะ")
        await citizen.wait_for_reply(1)
        await citizen.say(DESCRIPTION)
        number = complaints.find_number((await citizen.wait_for_reply(2))[-1]["text"])
        assert number is not None

        async def listed() -> list[tuple[str, str]]:
            response = await client.get("/api/officer/complaints", headers=complaints_officer.headers)
            return [(c["number"], c["status"]) for c in response.json()["complaints"]]

        transfer = await client.post(
            conversation_url(citizen.conversation_id, "transfer"),
            json={"department": "general"},
            headers=admin,
        )
        assert transfer.status_code == 200
        assert await listed() == [(number, "received")]

        await citizen.say("ยกเลิก")
        await citizen.wait_for_reply(4)  # filed, transferred, then the cancel's answer
        assert await listed() == [(number, "received")]

        await queue_again(services, citizen.conversation_id)
        assert (
            await client.post(conversation_url(citizen.conversation_id, "claim"), headers=admin)
        ).status_code == 200
        assert (
            await client.post(conversation_url(citizen.conversation_id, "resolve"), headers=admin)
        ).status_code == 200
        assert await listed() == [(number, "received")]

        changed = await client.post(
            status_url(number), json={"status": "in_progress"}, headers=complaints_officer.headers
        )
        assert changed.status_code == 200
        assert await listed() == [(number, "in_progress")]


async def queue_again(services: Services, conversation_id: str) -> None:
    """Back in a queue (the cancel may have handed the conversation back to the bot)."""
    async with services.sessionmaker() as session, session.begin():
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        if conversation.state == ConversationState.BOT:
            await session.run_sync(conversations.escalate, conversation, "general", "requested")
