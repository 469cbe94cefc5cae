"""Publishing in the database (SQLite and PostgreSQL): the seed, one transaction per approval, races, retirement."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import func, select

from app.kb.models import KbChange, KbEntry, KbEntryVersion
from app.officers.models import AuditRecord
from app.services import Services
from app.settings import Settings
from tests.conftest import make_settings
from tests.integration.insights.conftest import copy_knowledge_base
from tests.integration.kb.conftest import KB, Editor, approve, propose
from tests.integration.officers.conftest import new_citizen

ENTRY = "online_courses"
NEW_ANSWER = (
    "เรียนฟรีได้ที่ DBD e-Learning (e-learning.dbd.go.th) ค่ะ สมัครสมาชิกครั้งเดียว"
    " เรียนได้ทุกหลักสูตรผ่านมือถือ และรับวุฒิบัตรได้เมื่อสอบผ่านค่ะ"
)


class TestSeed:
    async def test_the_first_start_puts_the_yaml_in_the_database_as_version_one_by_seed(
        self, services: Services
    ) -> None:
        async with services.sessionmaker() as session:
            entries = (await session.scalars(select(KbEntry))).all()
            versions = (await session.scalars(select(KbEntryVersion))).all()
            seeded = await session.scalar(select(func.count()).where(AuditRecord.action == "kb_seed"))
        assert {e.id for e in entries} == set(services.kb.store.current.entries)
        assert {(v.version, v.author, v.approved_by) for v in versions} == {(1, "seed", "seed")}
        assert seeded == 1

    async def test_a_restart_keeps_the_database_and_does_not_seed_again(
        self, settings: Settings, client: httpx.AsyncClient, author: Editor, reviewer: Editor
    ) -> None:
        from tests.conftest import running_app

        await approve(
            client, reviewer, await propose(client, author, ENTRY, "general", {"answer": NEW_ANSWER})
        )
        async with running_app(settings) as second:
            services: Services = second.state.services
            assert services.kb.store.current.entries[ENTRY].answer == NEW_ANSWER
            async with services.sessionmaker() as session:
                seeded = await session.scalar(select(func.count()).where(AuditRecord.action == "kb_seed"))
        assert seeded == 1


class TestApproval:
    async def test_an_approval_writes_the_entry_its_version_the_change_and_the_audit_together(
        self, client: httpx.AsyncClient, author: Editor, reviewer: Editor, services: Services
    ) -> None:
        change_id = await propose(client, author, ENTRY, "general", {"answer": NEW_ANSWER})
        await approve(client, reviewer, change_id)
        async with services.sessionmaker() as session:
            entry = await session.get(KbEntry, ENTRY)
            version = await session.scalar(
                select(KbEntryVersion).where(KbEntryVersion.entry_id == ENTRY, KbEntryVersion.version == 2)
            )
            change = await session.get(KbChange, change_id)
            actions = set(
                (await session.scalars(select(AuditRecord.action).where(AuditRecord.target == ENTRY))).all()
            )
        assert entry is not None and entry.version == 2 and entry.fields["answer"] == NEW_ANSWER
        assert version is not None and (version.author_id, version.approver_id) == (author.id, reviewer.id)
        assert change is not None and change.status == "published" and change.published_version == 2
        assert {"kb_change_create", "kb_change_approve", "kb_publish"} <= actions
        assert services.kb.store.current.entries[ENTRY].answer == NEW_ANSWER

    async def test_of_two_changes_from_the_same_version_approved_at_once_exactly_one_is_published(
        self, client: httpx.AsyncClient, author: Editor, reviewer: Editor, services: Services
    ) -> None:
        first = await propose(client, author, ENTRY, "general", {"answer": NEW_ANSWER})
        second = await propose(client, author, ENTRY, "general", {"reviewed_at": "2026-12-05"})
        responses = await asyncio.gather(
            *(client.post(f"{KB}/changes/{c}/approve", headers=reviewer.headers) for c in (first, second))
        )
        assert sorted(r.status_code for r in responses) == [200, 409]
        async with services.sessionmaker() as session:
            entry = await session.get(KbEntry, ENTRY)
            versions = (
                await session.scalars(select(KbEntryVersion.version).where(KbEntryVersion.entry_id == ENTRY))
            ).all()
            statuses = (await session.scalars(select(KbChange.status))).all()
        assert entry is not None and entry.version == 2 and sorted(versions) == [1, 2]
        assert sorted(statuses) == ["pending_review", "published"]  # the refused one can be redone

    async def test_the_same_change_approved_twice_at_once_is_published_once(
        self, client: httpx.AsyncClient, author: Editor, reviewer: Editor, services: Services
    ) -> None:
        change_id = await propose(client, author, ENTRY, "general", {"answer": NEW_ANSWER})
        responses = await asyncio.gather(
            *(client.post(f"{KB}/changes/{change_id}/approve", headers=reviewer.headers) for _ in range(2))
        )
        assert sorted(r.status_code for r in responses) == [200, 409]
        async with services.sessionmaker() as session:
            count = await session.scalar(
                select(func.count()).select_from(KbEntryVersion).where(KbEntryVersion.entry_id == ENTRY)
            )
        assert count == 2


RETIRING = "walk_in_parking"


@pytest.fixture
def settings(hub_database_url: str, tmp_path: Path) -> Settings:
    """The default knowledge base plus one entry that no other names and none requires: it may retire."""
    root = copy_knowledge_base(tmp_path / "kb", {})
    general = root / "faq" / "general.yml"
    entries = yaml.safe_load(general.read_text("utf-8"))
    entries.append(
        {
            "id": RETIRING,
            "department": "general",
            "title": "ที่จอดรถสำหรับผู้มาติดต่อ",
            "answer": "ผู้มาติดต่อจอดรถได้ที่ลานจอดด้านหน้าอาคารกรม ฟรีตลอดเวลาทำการ แสดงบัตรคิวที่ป้อมยามเมื่อออกค่ะ",
            "source_url": "https://www.dbd.go.th/",
            "reviewed_at": dt.date(2026, 12, 1),
            "questions": [
                "ที่จอดรถอยู่ตรงไหน",
                "มีที่จอดรถไหมคะ",
                "จอดรถที่กรมได้ไหม",
                "ค่าจอดรถเท่าไหร่",
                "ลานจอดรถกรมพัฒน์",
                "ไปติดต่อที่กรมเอารถไปจอดที่ไหน",
                "จอดรถฟรีไหม",
                "ที่จอดรถผู้มาติดต่อ",
            ],
        }
    )
    general.write_text(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return make_settings(hub_database_url, tmp_path, GOVCHAT_KB_DIR=root)


async def test_a_retired_entry_is_not_answered_any_more_and_can_come_back(
    client: httpx.AsyncClient, author: Editor, reviewer: Editor, services: Services
) -> None:
    question = "ที่จอดรถอยู่ตรงไหน"
    answer = "ลานจอดด้านหน้าอาคารกรม"
    before = await new_citizen(client, services)
    await before.say(question)
    [reply] = await before.wait_for_reply(1)
    assert answer in reply["text"]

    await approve(client, reviewer, await propose(client, author, RETIRING, "general", {"status": "retired"}))
    assert RETIRING not in services.kb.store.current.entries
    after = await new_citizen(client, services)
    await after.say(question)
    replies = await after.wait_for_reply(1)
    assert all(answer not in r["text"] for r in replies)
    listed = await client.get(f"{KB}/entries/{RETIRING}", headers=author.headers)
    assert listed.json()["status"] == "retired" and listed.json()["version"] == 2

    await approve(
        client, reviewer, await propose(client, author, RETIRING, "general", {"status": "published"})
    )
    assert RETIRING in services.kb.store.current.entries
