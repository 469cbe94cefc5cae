"""``GET /api/officer/queue`` and department scoping (INTERFACES.md, "Officer API").

On SQLite; ``TestQueueOrder`` on PostgreSQL too: the queue's order comes from stored times.
"""

from __future__ import annotations

import httpx
import pytest

from app.officers.models import Role
from app.services import Services
from tests.integration.officers.conftest import hours_ago, make_officer, queue_citizen

QUEUE_FIELDS = {"id", "channel", "department", "reason", "waiting_since", "last_message"}


@pytest.fixture
def hub_database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url  # which conversations an officer sees: the API's rules


async def _queue(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, object]]:
    response = await client.get("/api/officer/queue", headers=headers)
    assert response.status_code == 200
    conversations: list[dict[str, object]] = response.json()["conversations"]
    return conversations


class TestQueueOrder:
    @pytest.fixture
    def hub_database_url(self, database_url: str) -> str:
        return database_url  # ordered by stored times, read back in UTC

    async def test_lists_waiting_conversations_of_my_departments_oldest_first(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        newer = await queue_citizen(client, services, "registration", waiting_since=hours_ago(0.1))
        older = await queue_citizen(client, services, "accounts", waiting_since=hours_ago(0.2))
        await queue_citizen(client, services, "general", waiting_since=hours_ago(0.3))
        officer = await make_officer(client, services, "somsri", ["registration", "accounts"])

        queue = await _queue(client, officer.headers)

        assert [c["id"] for c in queue] == [older.conversation_id, newer.conversation_id]
        first = queue[0]
        assert set(first) >= QUEUE_FIELDS
        assert first["channel"] == "webchat"
        assert first["department"] == "accounts"
        assert first["reason"] == "requested"
        assert first["last_message"] == "ขอสอบถามเรื่องที่ซับซ้อนค่ะ"
        assert str(first["waiting_since"]).endswith("+00:00")


class TestQueue:
    async def test_claimed_and_bot_conversations_are_not_in_the_queue(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        claimed = await queue_citizen(client, services, "general")
        waiting = await queue_citizen(client, services, "general")
        assert (
            await client.post(
                f"/api/officer/conversations/{claimed.conversation_id}/claim", headers=admin_headers
            )
        ).status_code == 200

        assert [c["id"] for c in await _queue(client, admin_headers)] == [waiting.conversation_id]

    async def test_the_administrator_sees_every_department(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        departments = ["registration", "accounts", "information", "general", "complaints"]
        for n, department in enumerate(departments):
            await queue_citizen(
                client, services, department, waiting_since=hours_ago(1 - n / 10), first_words=None
            )
        assert [c["department"] for c in await _queue(client, admin_headers)] == departments

    async def test_waiting_longer_than_the_department_target_is_flagged(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        # general: target 20 minutes; complaints: 60 (knowledge_base/departments.yml)
        late = await queue_citizen(
            client, services, "general", waiting_since=hours_ago(0.5), first_words=None
        )
        fine = await queue_citizen(
            client, services, "complaints", waiting_since=hours_ago(0.4), first_words=None
        )
        by_id = {c["id"]: c for c in await _queue(client, admin_headers)}
        assert by_id[late.conversation_id]["target_wait_minutes"] == 20
        assert by_id[late.conversation_id]["over_target"] is True
        assert by_id[fine.conversation_id]["target_wait_minutes"] == 60
        assert by_id[fine.conversation_id]["over_target"] is False
        assert int(str(by_id[late.conversation_id]["waited_seconds"])) >= 29 * 60


class TestDepartmentScoping:
    async def test_another_departments_conversation_is_404_for_every_call(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        citizen = await queue_citizen(client, services, "accounts", first_words=None)
        officer = await make_officer(client, services, "somsri", ["registration"])
        base = f"/api/officer/conversations/{citizen.conversation_id}"
        calls = [
            client.get(base, headers=officer.headers),
            client.post(f"{base}/claim", headers=officer.headers),
            client.post(f"{base}/messages", json={"text": "สวัสดีค่ะ"}, headers=officer.headers),
            client.post(f"{base}/transfer", json={"department": "registration"}, headers=officer.headers),
            client.post(f"{base}/resolve", headers=officer.headers),
            client.post(f"{base}/notes", json={"text": "ดูแล้ว"}, headers=officer.headers),
        ]
        for call in calls:
            response = await call
            assert response.status_code == 404, response.request.url

    async def test_an_unknown_conversation_is_404(
        self, client: httpx.AsyncClient, admin_headers: dict[str, str]
    ) -> None:
        response = await client.get("/api/officer/conversations/no-such-id", headers=admin_headers)
        assert response.status_code == 404

    async def test_a_supervisor_sees_all_held_conversations_of_their_departments(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        held = await queue_citizen(client, services, "registration", first_words=None)
        elsewhere = await queue_citizen(client, services, "accounts", first_words=None)
        officer = await make_officer(client, services, "somsri", ["registration"])
        other = await make_officer(client, services, "somying", ["accounts"])
        supervisor = await make_officer(client, services, "boss", ["registration"], Role.SUPERVISOR)
        for who, citizen in ((officer, held), (other, elsewhere)):
            claimed = await client.post(
                f"/api/officer/conversations/{citizen.conversation_id}/claim", headers=who.headers
            )
            assert claimed.status_code == 200

        everyone = await client.get("/api/officer/conversations?everyone=true", headers=supervisor.headers)
        mine = await client.get("/api/officer/conversations", headers=officer.headers)

        assert [c["id"] for c in everyone.json()["conversations"]] == [held.conversation_id]
        assert everyone.json()["conversations"][0]["assigned_username"] == "somsri"
        assert [c["id"] for c in mine.json()["conversations"]] == [held.conversation_id]
