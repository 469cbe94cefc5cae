"""Copying an unanswered question into a knowledge-base draft: never live until curated.

On SQLite only: drafts are files; the database keeps only the audit record.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import select

from app.cli import main
from app.officers.models import AuditRecord
from app.services import Services
from app.settings import Settings
from knowledge_base.loader import load_knowledge_base
from tests.conftest import make_settings
from tests.integration.insights.conftest import PHONE, copy_knowledge_base

URL = "/api/admin/kb/suggestions"
QUESTION = f"จองชื่อบริษัทแล้วแก้ชื่อได้ไหม โทรกลับ {PHONE}"


@pytest.fixture
def settings(sqlite_database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        sqlite_database_url, tmp_path, GOVCHAT_KB_DIR=copy_knowledge_base(tmp_path / "kb", {})
    )


class TestSuggestionApi:
    async def test_a_supervisor_drafts_a_question_outside_the_live_knowledge_base(
        self, client: httpx.AsyncClient, services: Services, supervisor_headers: dict[str, str]
    ) -> None:
        root = services.kb.store.root
        body = {"faq_id": "name_reservation", "question": QUESTION}

        response = await client.post(URL, json=body, headers=supervisor_headers)

        assert response.status_code == 201, response.text
        draft = response.json()
        assert draft["path"].startswith("drafts/name_reservation-") and draft["created"] is True
        content = yaml.safe_load((root / draft["path"]).read_text(encoding="utf-8"))
        assert content["faq_id"] == "name_reservation" and content["entry_exists"] is True
        assert content["questions"] == ["จองชื่อบริษัทแล้วแก้ชื่อได้ไหม โทรกลับ [PHONE]"]
        live = load_knowledge_base(root).entry("name_reservation")
        assert live is not None and not any("แก้ชื่อได้ไหม โทรกลับ" in q for q in live.questions)
        async with services.sessionmaker() as session:
            audit = await session.scalar(select(AuditRecord).where(AuditRecord.action == "kb_suggestion"))
        assert audit is not None and audit.detail["path"] == draft["path"]

    async def test_the_same_suggestion_twice_gives_the_same_draft(
        self, client: httpx.AsyncClient, admin_headers: dict[str, str]
    ) -> None:
        body = {"faq_id": "name_reservation", "question": QUESTION}
        first = await client.post(URL, json=body, headers=admin_headers)
        second = await client.post(URL, json=body, headers=admin_headers)

        assert (first.status_code, second.status_code) == (201, 200)
        assert second.json()["path"] == first.json()["path"] and second.json()["created"] is False

    async def test_an_officer_may_not_draft(
        self, client: httpx.AsyncClient, officer_only_headers: dict[str, str]
    ) -> None:
        response = await client.post(
            URL, json={"faq_id": "x", "question": "คำถาม"}, headers=officer_only_headers
        )
        assert response.status_code == 403

    async def test_a_bad_faq_id_is_400(
        self, client: httpx.AsyncClient, admin_headers: dict[str, str]
    ) -> None:
        response = await client.post(
            URL, json={"faq_id": "../faq/general", "question": "คำถาม"}, headers=admin_headers
        )

        assert response.status_code == 400
        assert "faq_id" in response.json()["detail"]


def test_govchat_kb_suggest_writes_a_draft_and_validation_still_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = copy_knowledge_base(tmp_path / "kb", {})
    monkeypatch.setenv("GOVCHAT_KB_DIR", str(root))

    assert (
        main(
            ["kb", "suggest", "--faq-id", "registration_fees", "--question", "ค่าจดทะเบียนจ่ายผ่านแอปธนาคารได้ไหม"]
        )
        == 0
    )

    (draft,) = (root / "drafts").glob("registration_fees-*.yml")
    assert yaml.safe_load(draft.read_text(encoding="utf-8"))["questions"] == [
        "ค่าจดทะเบียนจ่ายผ่านแอปธนาคารได้ไหม"
    ]
    assert main(["kb", "validate"]) == 0
    assert "knowledge base OK" in capsys.readouterr().out
