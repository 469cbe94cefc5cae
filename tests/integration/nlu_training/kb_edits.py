"""Changing the knowledge base a running hub serves, and asking it questions, for the retraining tests."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import select

from app.conversations.models import Message
from app.services import Services
from knowledge_base.loader import DEFAULT_ROOT
from tests.conftest import wait_for

# Nothing in the knowledge base resembles it: before it is added, no entry answers it.
NEW_QUESTION = "ขอแบบฟอร์มซองสีม่วงหมายเลขเก้าสิบเก้าได้ที่ไหน"
TARGET_ENTRY = "financial_statement_submission"
KNOWN_QUESTION = "จดทะเบียนบริษัทออนไลน์ได้ไหมครับ"
KNOWN_ENTRY = "company_registration_online"
_message_ids = itertools.count()


def copy_knowledge_base(target: Path) -> Path:
    shutil.copytree(DEFAULT_ROOT, target, ignore=shutil.ignore_patterns("*.py", "__pycache__", "drafts"))
    return target


def add_question(kb_dir: Path, entry_id: str, question: str) -> None:
    """Append ``question`` to the entry's questions in its YAML file."""
    for faq_file in (kb_dir / "faq").glob("*.yml"):
        entries = yaml.safe_load(faq_file.read_text(encoding="utf-8"))
        for entry in entries:
            if entry["id"] == entry_id:
                entry["questions"].append(question)
                faq_file.write_text(
                    yaml.safe_dump(entries, allow_unicode=True, sort_keys=False), encoding="utf-8"
                )
                return
    raise KeyError(entry_id)


class WebChatCitizen:
    """One web-chat session; ``ask`` returns what the hub understood and decided for the question."""

    def __init__(self, client: httpx.AsyncClient, services: Services) -> None:
        self.client = client
        self.services = services
        self.session: dict[str, Any] | None = None

    async def ask(self, text: str, timeout: float = 30.0) -> dict[str, Any]:
        if self.session is None:
            self.session = (await self.client.post("/api/webchat/sessions")).json()
        assert self.session is not None
        client_message_id = f"retrain-{next(_message_ids)}"
        response = await self.client.post(
            f"/api/webchat/sessions/{self.session['session_id']}/messages",
            json={"text": text, "client_message_id": client_message_id},
            headers={"Authorization": f"Bearer {self.session['token']}"},
        )
        assert response.status_code in (200, 201, 202), response.text
        message_id = response.json()["message_id"]

        async def decided() -> dict[str, Any] | None:
            async with self.services.sessionmaker() as db:
                nlu: dict[str, Any] | None = await db.scalar(
                    select(Message.nlu).where(Message.id == message_id)
                )
            return nlu

        record: dict[str, Any] = await wait_for(decided, timeout=timeout)
        return record
