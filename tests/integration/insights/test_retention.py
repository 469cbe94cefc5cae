"""Retention: exactly what is older than ``GOVCHAT_RETENTION_DAYS`` goes, nothing open is touched."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.cli import main
from app.complaints.models import CaseStatus, ComplaintCase
from app.conversations.models import Citizen, Conversation, ConversationState, Message, WorkItem
from app.db.engine import create_engine, create_sessionmaker
from app.db.migrate import run_migrations
from app.insights.retention import run_retention
from app.officers.models import AuditRecord
from app.services import Services
from tests.integration.insights.conftest import Seeder, ago, decision

OLD = 400  # days; retention is 365
_sequence = iter(range(1, 10_000))


async def add_complaint(
    services: Services, conversation: Conversation, status: CaseStatus, when: dt.datetime
) -> str:
    sequence = next(_sequence)
    async with services.sessionmaker() as session, session.begin():
        case = ComplaintCase(
            number=f"CMP-2568-{sequence:06d}",
            year=2568,
            sequence=sequence,
            citizen_id=conversation.citizen_id,
            conversation_id=conversation.id,
            channel=conversation.channel,
            department="complaints",
            description="ร้องเรียนเจ้าหน้าที่ บ้านเลขที่ 99 โทร 0812345678",
            status=status,
            created_at=when,
            closed_at=when if status == CaseStatus.CLOSED else None,
        )
        session.add(case)
    return case.id


async def add_work_item(services: Services, conversation: Conversation, when: dt.datetime) -> int:
    async with services.sessionmaker() as session, session.begin():
        item = WorkItem(
            channel=conversation.channel,
            dedupe_key=f"event-{conversation.id}-{when.timestamp()}",
            conversation_id=conversation.id,
            kind="text",
            payload={"text": "ข้อความเดิมของประชาชน", "user_id": "U123"},
            status="done",
            received_at=when,
            finished_at=when,
        )
        session.add(item)
    return item.id


async def row(services: Services, model: Any, key: Any) -> Any:
    async with services.sessionmaker() as session:
        return await session.get(model, key)


async def with_attachment(
    seeder: Seeder, settings_var: Path, conversation: Conversation
) -> tuple[Message, Path]:
    relative = f"attachments/line/{conversation.id}/9001.jpg"
    path = settings_var / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8 a citizen's photo")
    extra = {"attachments": [{"kind": "image", "stored_path": relative, "content_type": "image/jpeg"}]}
    message = await seeder.message(conversation, None, created_at=ago(days=OLD), extra=extra)
    return message, path


class TestRetentionRun:
    async def test_deletes_exactly_what_is_due_and_nothing_open(
        self, services: Services, seeder: Seeder
    ) -> None:
        var_dir = services.settings.var_dir
        answer = decision("answer", faq_id="name_reservation")
        # a closed conversation, silent for 400 days: text, file and name go
        gone = await seeder.conversation("line", display_name="สมชาย ใจดี", created_at=ago(days=OLD + 10))
        old_text = await seeder.message(
            gone, "จองชื่อบริษัท เบอร์ 0812345678", nlu=answer, created_at=ago(days=OLD)
        )
        bot_reply = await seeder.message(gone, "คำตอบของแชตบอต", direction="out", created_at=ago(days=OLD))
        photo, photo_path = await with_attachment(seeder, var_dir, gone)
        old_work = await add_work_item(services, gone, ago(days=OLD))
        # still talking: old texts go, the recent text and the name stay
        active = await seeder.conversation(
            "webchat", display_name="สมหญิง", created_at=ago(days=OLD + 10), last_inbound_at=ago(days=2)
        )
        active_old = await seeder.message(active, "ข้อความเก่า", nlu=answer, created_at=ago(days=OLD))
        active_new = await seeder.message(active, "ข้อความใหม่", nlu=answer, created_at=ago(days=2))
        # with the officers: untouched however old
        waiting = await seeder.conversation(
            "facebook",
            display_name="รอเจ้าหน้าที่",
            state=ConversationState.WAITING,
            created_at=ago(days=OLD + 10),
        )
        waiting_old = await seeder.message(waiting, "ยังรอคำตอบ", created_at=ago(days=OLD))
        waiting_work = await add_work_item(services, waiting, ago(days=OLD))
        # a complaint not closed: untouched however old
        complaining = await seeder.conversation(
            "line", display_name="ผู้ร้องเรียน", created_at=ago(days=OLD + 10)
        )
        complaint_old = await seeder.message(complaining, "ขอร้องเรียน", created_at=ago(days=OLD))
        open_case = await add_complaint(services, complaining, CaseStatus.IN_PROGRESS, ago(days=OLD))
        # a complaint closed 400 days ago: its description goes
        closed = await seeder.conversation("line", created_at=ago(days=OLD + 10))
        closed_case = await add_complaint(services, closed, CaseStatus.CLOSED, ago(days=OLD))

        report = await run_retention(services.sessionmaker, var_dir, 365)

        assert (report.messages_redacted, report.attachments_deleted) == (3, 1)
        assert (report.profiles_redacted, report.complaints_redacted, report.work_items_cleared) == (1, 1, 1)
        redacted = await row(services, Message, old_text.id)
        assert redacted.text is None and redacted.extra["redacted"] is True
        assert redacted.nlu == answer and redacted.created_at == old_text.created_at  # counts keep working
        assert (await row(services, Message, bot_reply.id)).text == "คำตอบของแชตบอต"
        assert not photo_path.exists()
        assert "attachments" not in (await row(services, Message, photo.id)).extra
        assert (await row(services, Citizen, gone.citizen_id)).display_name is None
        assert (await row(services, WorkItem, old_work)).payload == {"redacted": True}
        assert (await row(services, Message, active_old.id)).text is None
        assert (await row(services, Message, active_new.id)).text == "ข้อความใหม่"
        assert (await row(services, Citizen, active.citizen_id)).display_name == "สมหญิง"
        assert (await row(services, Message, waiting_old.id)).text == "ยังรอคำตอบ"
        assert (await row(services, Citizen, waiting.citizen_id)).display_name == "รอเจ้าหน้าที่"
        assert (await row(services, WorkItem, waiting_work)).payload["text"] == "ข้อความเดิมของประชาชน"
        assert (await row(services, Message, complaint_old.id)).text == "ขอร้องเรียน"
        assert (await row(services, Citizen, complaining.citizen_id)).display_name == "ผู้ร้องเรียน"
        assert (await row(services, ComplaintCase, open_case)).description is not None
        assert (await row(services, ComplaintCase, closed_case)).description is None

    async def test_a_second_run_finds_nothing_left_and_each_run_is_audited(
        self, services: Services, seeder: Seeder
    ) -> None:
        gone = await seeder.conversation("line", display_name="สมชาย", created_at=ago(days=OLD))
        await seeder.message(gone, "ข้อความเก่า", created_at=ago(days=OLD))

        first = await run_retention(services.sessionmaker, services.settings.var_dir, 365)
        second = await run_retention(services.sessionmaker, services.settings.var_dir, 365)

        assert (first.messages_redacted, first.profiles_redacted) == (1, 1)
        assert (second.messages_redacted, second.profiles_redacted) == (0, 0)
        async with services.sessionmaker() as session:
            audits = (
                await session.scalars(select(AuditRecord).where(AuditRecord.action == "retention_run"))
            ).all()
        assert len(audits) == 2 and all(a.officer_id is None for a in audits)
        assert audits[0].detail["messages_redacted"] + audits[1].detail["messages_redacted"] == 1


def test_govchat_retention_run_uses_the_configured_period(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'govchat.db'}"

    async def seed() -> str:
        await asyncio.to_thread(run_migrations, url)
        engine = create_engine(url)
        async with create_sessionmaker(engine)() as session, session.begin():
            citizen = Citizen(channel="line", external_id="U1", created_at=ago(days=40))
            session.add(citizen)
            await session.flush()
            conversation = Conversation(citizen_id=citizen.id, channel="line", created_at=ago(days=40))
            session.add(conversation)
            await session.flush()
            message = Message(conversation_id=conversation.id, direction="in", sender="citizen", text="เก่า")
            message.created_at = ago(days=40)
            session.add(message)
            await session.flush()
            message_id = str(message.id)
        await engine.dispose()
        return message_id

    asyncio.run(seed())
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("GOVCHAT_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("GOVCHAT_RETENTION_DAYS", "30")

    assert main(["retention", "run"]) == 0

    report = json.loads(capsys.readouterr().out)
    assert report["messages_redacted"] == 1
