"""An entry past its ``expires_at`` is never answered: the citizen is handed to an officer instead.

On SQLite only: the knowledge base decides, not the database.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.conversations.models import Conversation, ConversationState
from app.services import Services
from app.settings import Settings
from app.webchat.service import find_conversation
from tests.conftest import make_settings, wait_for
from tests.integration.insights.conftest import copy_knowledge_base

QUESTION = "จดทะเบียนบริษัทออนไลน์ได้ไหม"
EXPIRED = "company_registration_online"


@pytest.fixture
def settings(sqlite_database_url: str, tmp_path: Path) -> Settings:
    kb = copy_knowledge_base(tmp_path / "kb", {EXPIRED: {"expires_at": dt.date(2020, 1, 1)}})
    return make_settings(sqlite_database_url, tmp_path, GOVCHAT_KB_DIR=kb)


async def bot_replies(
    client: httpx.AsyncClient, session_id: str, headers: dict[str, str]
) -> list[dict[str, Any]]:
    async def answered() -> list[dict[str, Any]]:
        response = await client.get(f"/api/webchat/sessions/{session_id}/messages", headers=headers)
        return [m for m in response.json()["messages"] if m["direction"] == "out"]

    result: list[dict[str, Any]] = await wait_for(answered, timeout=30)
    return result


async def test_an_expired_entry_is_escalated_not_answered(
    client: httpx.AsyncClient, services: Services
) -> None:
    entry = services.kb.store.current.entry(EXPIRED)
    assert entry is not None and entry.is_expired(dt.date.today())
    created = (await client.post("/api/webchat/sessions")).json()
    headers = {"Authorization": f"Bearer {created['token']}"}

    sent = await client.post(
        f"/api/webchat/sessions/{created['session_id']}/messages",
        json={"text": QUESTION, "client_message_id": uuid.uuid4().hex},
        headers=headers,
    )
    assert sent.status_code == 202
    (reply,) = await bot_replies(client, created["session_id"], headers)

    assert reply["text"].startswith(services.responses.expired_answer)
    assert entry.answer not in reply["text"]
    async with services.sessionmaker() as session:
        conversation: Conversation | None = await find_conversation(session, created["session_id"])
    assert conversation is not None and conversation.state == ConversationState.WAITING
