"""Data-subject requests: ``govchat citizen export|erase``, each audited."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from app.cli import main
from app.complaints.models import CaseStatus, ComplaintCase
from app.conversations.models import Citizen, ConversationState, Message
from app.db.engine import create_engine, create_sessionmaker
from app.db.migrate import run_migrations
from app.insights.export import CitizenNotFound, ErasureRefused, erase_citizen, export_citizen
from app.officers.models import AuditRecord, ConversationNote
from app.services import Services
from tests.integration.insights.conftest import Seeder, ago, decision


async def audits(services: Services, action: str) -> list[AuditRecord]:
    async with services.sessionmaker() as session:
        return list((await session.scalars(select(AuditRecord).where(AuditRecord.action == action))).all())


class TestExport:
    async def test_everything_held_on_the_citizen_and_an_audit_record(
        self, services: Services, seeder: Seeder
    ) -> None:
        conversation = await seeder.conversation("line", user_id="Uexport", display_name="สมชาย")
        await seeder.exchange(conversation, "จองชื่อบริษัทยังไง", decision("answer", faq_id="name_reservation"))
        await seeder.escalation(conversation, created_at=ago(days=1), rating=4)
        other = await seeder.conversation("line", user_id="Uother")
        await seeder.message(other, "ข้อความของคนอื่น")

        data = await export_citizen(services.sessionmaker, "line", "Uexport")

        assert data["citizen"] == {
            "channel": "line",
            "user_id": "Uexport",
            "display_name": "สมชาย",
            "active": True,
            "created_at": data["citizen"]["created_at"],
        }
        assert [(m["sender"], m["text"]) for m in data["messages"]] == [
            ("citizen", "จองชื่อบริษัทยังไง"),
            ("bot", "คำตอบของแชตบอต"),
        ]
        assert data["messages"][0]["nlu"]["faq_id"] == "name_reservation"
        assert data["escalations"][0]["rating"] == 4
        assert "ข้อความของคนอื่น" not in json.dumps(data, ensure_ascii=False)
        (record,) = await audits(services, "citizen_export")
        assert record.officer_id is None and record.target == conversation.citizen_id

    async def test_an_unknown_citizen_is_not_found(self, services: Services) -> None:
        with pytest.raises(CitizenNotFound):
            await export_citizen(services.sessionmaker, "line", "Unobody")


class TestErase:
    async def test_personal_data_goes_counts_stay_and_an_audit_record(
        self, services: Services, seeder: Seeder
    ) -> None:
        var_dir = services.settings.var_dir
        conversation = await seeder.conversation("facebook", user_id="PSID-1", display_name="สมหญิง")
        photo = var_dir / "attachments" / "facebook" / "p.jpg"
        photo.parent.mkdir(parents=True)
        photo.write_bytes(b"photo")
        answer = decision("answer", faq_id="company_certificate")
        question = await seeder.message(
            conversation,
            "ขอหนังสือรับรอง เบอร์ 0812345678",
            nlu=answer,
            extra={"attachments": [{"kind": "image", "stored_path": "attachments/facebook/p.jpg"}]},
        )
        reply = await seeder.message(conversation, "เจ้าหน้าที่ตอบคุณสมหญิง", direction="out")
        async with services.sessionmaker() as session, session.begin():
            session.add(ConversationNote(conversation_id=conversation.id, text="ลูกค้าชื่อสมหญิง"))
            session.add(
                ComplaintCase(
                    number="CMP-2569-000900",
                    year=2569,
                    sequence=900,
                    citizen_id=conversation.citizen_id,
                    conversation_id=conversation.id,
                    channel="facebook",
                    department="complaints",
                    description="รายละเอียดการร้องเรียน",
                    status=CaseStatus.CLOSED,
                )
            )

        counts = await erase_citizen(services.sessionmaker, var_dir, "facebook", "PSID-1")

        assert counts == {"messages": 2, "attachments": 1, "notes": 1, "complaint_cases": 1, "work_items": 0}
        async with services.sessionmaker() as session:
            citizen = await session.get(Citizen, conversation.citizen_id)
            erased_question = await session.get(Message, question.id)
            erased_reply = await session.get(Message, reply.id)
            note = await session.scalar(select(ConversationNote))
            case = await session.scalar(select(ComplaintCase))
        assert citizen is not None and citizen.display_name is None and citizen.external_id != "PSID-1"
        assert erased_question is not None and erased_question.text is None and erased_question.nlu == answer
        assert erased_reply is not None and erased_reply.text is None
        assert note is not None and note.text == ""
        assert case is not None and case.description is None
        assert not photo.exists()
        with pytest.raises(CitizenNotFound):
            await export_citizen(services.sessionmaker, "facebook", "PSID-1")
        (record,) = await audits(services, "citizen_erase")
        assert record.officer_id is None and record.target == conversation.citizen_id
        assert record.detail["messages"] == 2

    async def test_a_citizen_with_the_officers_is_refused_and_nothing_changes(
        self, services: Services, seeder: Seeder
    ) -> None:
        conversation = await seeder.conversation("line", user_id="Uwaiting", state=ConversationState.WAITING)
        message = await seeder.message(conversation, "ยังรอเจ้าหน้าที่")

        with pytest.raises(ErasureRefused, match="waiting"):
            await erase_citizen(services.sessionmaker, services.settings.var_dir, "line", "Uwaiting")

        async with services.sessionmaker() as session:
            assert (await session.get(Message, message.id)).text == "ยังรอเจ้าหน้าที่"  # type: ignore[union-attr]
        assert await audits(services, "citizen_erase") == []


def test_the_cli_exports_and_erases_with_audit_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'govchat.db'}"

    async def seed() -> None:
        await asyncio.to_thread(run_migrations, url)
        engine = create_engine(url)
        async with create_sessionmaker(engine)() as session, session.begin():
            session.add(Citizen(channel="webchat", external_id="session-1", display_name="ผู้ใช้เว็บ"))
        await engine.dispose()

    async def audit_actions() -> list[str]:
        engine = create_engine(url)
        async with create_sessionmaker(engine)() as session:
            actions = list((await session.scalars(select(AuditRecord.action))).all())
        await engine.dispose()
        return actions

    asyncio.run(seed())
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("GOVCHAT_VAR_DIR", str(tmp_path))
    output = tmp_path / "export.json"

    assert (
        main(["citizen", "export", "--channel", "webchat", "--user-id", "session-1", "--output", str(output)])
        == 0
    )
    assert json.loads(output.read_text(encoding="utf-8"))["citizen"]["display_name"] == "ผู้ใช้เว็บ"
    assert main(["citizen", "erase", "--channel", "webchat", "--user-id", "session-1"]) == 0
    assert json.loads(capsys.readouterr().out)["erased"] is True
    assert main(["citizen", "export", "--channel", "webchat", "--user-id", "session-1"]) == 1
    assert "no citizen" in capsys.readouterr().err
    assert sorted(asyncio.run(audit_actions())) == ["citizen_erase", "citizen_export"]
