"""``GET /api/officer/conversations/{id}``, canned replies and the audit log."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.conversations.intake import store_inbound
from app.conversations.models import Message, WorkItem
from app.db.schema import utcnow
from app.officers.models import AuditRecord
from app.services import Services
from channels.base import Attachment, Channel, InboundKind, InboundMessage
from tests.conftest import wait_for
from tests.integration.officers.conftest import conversation_url, make_officer, new_citizen, queue_citizen

DETAIL_FIELDS = {"id", "channel", "department", "state", "assigned_to", "messages"}
MESSAGE_FIELDS = {"id", "direction", "sender", "text", "created_at", "nlu", "delivery_status"}


@pytest.fixture
def hub_database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url  # the API's rules: the database cannot change them


class TestTranscript:
    async def test_the_transcript_follows_the_contract(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await new_citizen(client, services)
        await citizen.say("จดทะเบียนบริษัทออนไลน์ได้ไหม")
        await citizen.wait_for_reply(1)
        await citizen.say("ขอคุยกับเจ้าหน้าที่")
        await citizen.wait_for_reply(2)
        await client.post(conversation_url(citizen.conversation_id, "claim"), headers=admin_headers)
        await client.post(
            conversation_url(citizen.conversation_id, "messages"),
            json={"text": "สวัสดีค่ะ"},
            headers=admin_headers,
        )

        detail = (await client.get(conversation_url(citizen.conversation_id), headers=admin_headers)).json()

        assert set(detail) >= DETAIL_FIELDS
        assert (detail["id"], detail["channel"], detail["department"]) == (
            citizen.conversation_id,
            "webchat",
            "registration",  # the topic answered just before the request
        )
        assert detail["state"] == "with_officer"
        assert isinstance(detail["assigned_to"], str)
        messages = detail["messages"]
        assert all(set(m) >= MESSAGE_FIELDS for m in messages)
        assert [m["sender"] for m in messages] == ["citizen", "bot", "citizen", "bot", "bot", "officer"]
        question = messages[0]
        assert question["direction"] == "in" and question["delivery_status"] is None
        assert set(question["nlu"]) == {"intent", "confidence", "faq_id", "action"}
        assert question["nlu"]["action"] == "answer" and question["nlu"]["intent"] == "faq"
        assert messages[2]["nlu"]["action"] == "escalate"
        assert messages[-1]["direction"] == "out" and messages[-1]["nlu"] is None
        assert messages[-1]["delivery_status"] in ("pending", "sent")
        assert all(m["created_at"].endswith("+00:00") for m in messages)

    async def test_attachments_the_citizen_sent_are_listed(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        async with services.sessionmaker() as session, session.begin():
            accepted = await store_inbound(
                session,
                InboundMessage(
                    channel=Channel.WEBCHAT,
                    dedupe_key="photo-1",
                    user_id="citizen-with-a-photo",
                    kind=InboundKind.ATTACHMENT,
                    timestamp=utcnow(),
                    attachments=(Attachment(kind="image", url="https://example.invalid/receipt.jpg"),),
                ),
            )
        services.workers.notify_work()
        conversation_id = accepted.conversation_id
        assert conversation_id is not None

        async def handled() -> bool:
            async with services.sessionmaker() as session:
                status = await session.scalar(select(WorkItem.status).where(WorkItem.dedupe_key == "photo-1"))
            return status == "done"

        await wait_for(handled)
        detail = (await client.get(conversation_url(conversation_id), headers=admin_headers)).json()
        assert [(a["kind"], a["url"]) for a in detail["attachments"]] == [
            ("image", "https://example.invalid/receipt.jpg")
        ]
        assert detail["attachments"][0]["message_id"] == detail["messages"][0]["id"]


class TestCannedReplies:
    async def test_canned_replies_are_the_knowledge_base_answers(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        officer = await make_officer(client, services, "somsri", ["accounts"])
        replies = (await client.get("/api/officer/canned", headers=officer.headers)).json()["replies"]
        kb = services.kb.store.current
        assert {r["faq_id"] for r in replies} <= set(kb.entries)
        assert replies[0]["department"] == "accounts"  # the officer's own department first
        by_id = {r["faq_id"]: r for r in replies}
        entry = kb.entries["registration_fees"]
        assert by_id["registration_fees"]["title"] == entry.title
        assert by_id["registration_fees"]["text"].startswith(entry.answer)
        assert str(entry.source_url) in by_id["registration_fees"]["text"]


class TestAudit:
    async def test_every_officer_action_is_audited_for_administrators(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await queue_citizen(client, services, "general")
        officer = await make_officer(client, services, "somsri", ["general", "accounts"])
        for action, body in (
            ("claim", None),
            ("messages", {"text": "สวัสดีค่ะ"}),
            ("transfer", {"department": "accounts", "note": "ส่งต่อ"}),
            ("claim", None),
            ("resolve", None),
        ):
            response = await client.post(
                conversation_url(citizen.conversation_id, action), json=body, headers=officer.headers
            )
            assert response.status_code in (200, 202), (action, response.text)

        response = await client.get(f"/api/admin/audit?officer_id={officer.id}", headers=admin_headers)

        assert response.status_code == 200
        records = response.json()["records"]
        assert [r["action"] for r in reversed(records)] == [
            "login",
            "claim",
            "reply",
            "transfer",
            "claim",
            "resolve",
        ]
        assert all(r["username"] == "somsri" for r in records)
        assert all(r["target"] == citizen.conversation_id for r in records if r["action"] != "login")
        transfer = next(r for r in records if r["action"] == "transfer")
        assert transfer["detail"] == {"from": "general", "to": "accounts"}
        async with services.sessionmaker() as session:
            stored = await session.scalar(select(AuditRecord).where(AuditRecord.action == "reply"))
        assert stored is not None and "สวัสดี" not in str(stored.detail)  # what citizens read stays out

    async def test_officers_and_supervisors_cannot_read_the_audit_log(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        officer = await make_officer(client, services, "somsri", ["general"])
        assert (await client.get("/api/admin/audit", headers=officer.headers)).status_code == 403


class TestOfficerAdministration:
    async def test_an_administrator_creates_updates_and_deactivates_officers(
        self, client: httpx.AsyncClient, admin_headers: dict[str, str]
    ) -> None:
        created = await client.post(
            "/api/admin/officers",
            json={"username": "malee", "password": "malee-password", "departments": ["information"]},
            headers=admin_headers,
        )
        assert created.status_code == 201
        officer_id = created.json()["id"]
        login = await client.post(
            "/api/officer/login", json={"username": "malee", "password": "malee-password"}
        )
        assert login.status_code == 200

        updated = await client.patch(
            f"/api/admin/officers/{officer_id}",
            json={"departments": ["information", "general"], "role": "supervisor", "active": False},
            headers=admin_headers,
        )

        assert updated.status_code == 200
        assert updated.json()["departments"] == ["information", "general"]
        assert updated.json()["role"] == "supervisor"
        login = await client.post(
            "/api/officer/login", json={"username": "malee", "password": "malee-password"}
        )
        assert login.status_code == 401

    async def test_unknown_departments_and_duplicate_names_are_refused(
        self, client: httpx.AsyncClient, admin_headers: dict[str, str]
    ) -> None:
        unknown = await client.post(
            "/api/admin/officers",
            json={"username": "malee", "password": "malee-password", "departments": ["nowhere"]},
            headers=admin_headers,
        )
        assert unknown.status_code == 422
        duplicate = await client.post(
            "/api/admin/officers",
            json={"username": "admin", "password": "malee-password", "departments": ["general"]},
            headers=admin_headers,
        )
        assert duplicate.status_code == 409


class TestStoredAttachments:
    async def test_an_officer_downloads_the_kept_copy_and_the_access_is_audited(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await queue_citizen(client, services, "general")
        var_dir = services.settings.var_dir
        stored = Path("attachments", "line", citizen.conversation_id, "42.jpg")
        (var_dir / stored).parent.mkdir(parents=True)
        (var_dir / stored).write_bytes(b"jpeg bytes")
        message_id = await _message_with_attachments(
            services,
            citizen.conversation_id,
            [
                {"kind": "image", "stored_path": stored.as_posix(), "content_type": "image/jpeg"},
                {"kind": "file", "stored_path": "../secret_key"},
            ],
        )

        detail = (await client.get(conversation_url(citizen.conversation_id), headers=admin_headers)).json()
        links = [a["download"] for a in detail["attachments"]]
        response = await client.get(links[0], headers=admin_headers)
        escaping = await client.get(links[1], headers=admin_headers)
        anonymous = await client.get(links[0])

        assert links[0] == f"/api/officer/conversations/{citizen.conversation_id}/attachments/{message_id}/0"
        assert response.status_code == 200
        assert response.content == b"jpeg bytes"
        assert response.headers["content-type"] == "image/jpeg"
        assert escaping.status_code == 404  # nothing outside the attachments folder is served
        assert anonymous.status_code == 401
        async with services.sessionmaker() as session:
            audited = await session.scalar(select(AuditRecord).where(AuditRecord.action == "attachment_read"))
        assert audited is not None and audited.target == citizen.conversation_id


async def _message_with_attachments(
    services: Services, conversation_id: str, attachments: list[dict[str, str]]
) -> str:
    async with services.sessionmaker() as session, session.begin():
        message = Message(
            conversation_id=conversation_id,
            direction="in",
            sender="citizen",
            text=None,
            quick_replies=[],
            extra={"attachments": attachments},
            created_at=utcnow(),
        )
        session.add(message)
        await session.flush()
        return str(message.id)
