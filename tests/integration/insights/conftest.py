"""Officers of each role, a knowledge-base copy, and rows inserted directly with the models."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from app.conversations.models import Citizen, Conversation, ConversationState, Escalation, Message
from app.db.schema import utcnow
from app.officers import admin
from app.officers.models import Role
from app.services import Services
from knowledge_base.loader import DEFAULT_ROOT
from tests.conftest import ADMIN_PASSWORD

PASSWORD = "insights-password-1"
# A valid Thai national ID number (checksum holds) and a mobile number, as citizens type them.
THAI_ID = "1101700207030"
THAI_ID_DASHED = "1-1017-00207-03-0"
PHONE = "081-234-5678"
PHONE_DIGITS = re.compile(r"0812345678|081-234-5678|1101700207030|1-1017-00207-03-0")


async def login(client: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    response = await client.post("/api/officer/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def officer_headers(client: httpx.AsyncClient, services: Services, role: Role) -> dict[str, str]:
    username = f"{role.value}-{uuid.uuid4().hex[:6]}"
    await admin.create_officer(
        services.transactions,
        username=username,
        password=PASSWORD,
        departments=["general"],
        role=role,
        known_departments=services.kb.store.current.departments,
    )
    return await login(client, username, PASSWORD)


@pytest.fixture
async def admin_headers(client: httpx.AsyncClient) -> dict[str, str]:
    return await login(client, "admin", ADMIN_PASSWORD)


@pytest.fixture
async def supervisor_headers(client: httpx.AsyncClient, services: Services) -> dict[str, str]:
    return await officer_headers(client, services, Role.SUPERVISOR)


@pytest.fixture
async def officer_only_headers(client: httpx.AsyncClient, services: Services) -> dict[str, str]:
    return await officer_headers(client, services, Role.OFFICER)


def decision(
    action: str,
    *,
    intent: str = "faq",
    faq_id: str | None = None,
    confidence: float = 0.9,
    reason: str | None = None,
    ranking: list[str] | None = None,
) -> dict[str, Any]:
    """An ``nlu`` record as the pipeline stores it on a citizen's message."""
    record: dict[str, Any] = {"intent": intent, "confidence": confidence, "faq_id": faq_id, "action": action}
    if ranking is not None:
        record["faq_ranking"] = [{"name": name, "confidence": 0.3} for name in ranking]
    if reason is not None:
        record["reason"] = reason
    return record


def ago(days: float = 0, hours: float = 0) -> dt.datetime:
    return utcnow() - dt.timedelta(days=days, hours=hours)


@dataclass
class Seeder:
    """Rows written straight into the database, as the pipeline and officers would leave them."""

    services: Services

    async def conversation(
        self,
        channel: str = "line",
        *,
        user_id: str | None = None,
        display_name: str | None = None,
        state: ConversationState = ConversationState.BOT,
        created_at: dt.datetime | None = None,
        last_inbound_at: dt.datetime | None = None,
    ) -> Conversation:
        created_at = created_at or utcnow()
        async with self.services.sessionmaker() as session, session.begin():
            citizen = Citizen(
                channel=channel,
                external_id=user_id or f"U{uuid.uuid4().hex}",
                display_name=display_name,
                created_at=created_at,
            )
            session.add(citizen)
            await session.flush()
            conversation = Conversation(
                citizen_id=citizen.id,
                channel=channel,
                state=state,
                department="general" if state != ConversationState.BOT else None,
                created_at=created_at,
                last_inbound_at=last_inbound_at or created_at,
            )
            session.add(conversation)
        return conversation

    async def message(
        self,
        conversation: Conversation,
        text: str | None,
        *,
        nlu: dict[str, Any] | None = None,
        direction: str = "in",
        created_at: dt.datetime | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Message:
        sender = "citizen" if direction == "in" else "bot"
        async with self.services.sessionmaker() as session, session.begin():
            message = Message(
                conversation_id=conversation.id,
                direction=direction,
                sender=sender,
                text=text,
                nlu=nlu,
                extra=extra or {},
                created_at=created_at or utcnow(),
                delivery_status="sent" if direction == "out" else None,
            )
            session.add(message)
        return message

    async def exchange(
        self,
        conversation: Conversation,
        text: str,
        nlu: dict[str, Any],
        created_at: dt.datetime | None = None,
    ) -> None:
        """A citizen's question and the bot's reply."""
        await self.message(conversation, text, nlu=nlu, created_at=created_at)
        await self.message(conversation, "คำตอบของแชตบอต", direction="out", created_at=created_at)

    async def escalation(
        self,
        conversation: Conversation,
        *,
        created_at: dt.datetime,
        first_reply_after: dt.timedelta | None = None,
        rating: int | None = None,
    ) -> None:
        async with self.services.sessionmaker() as session, session.begin():
            session.add(
                Escalation(
                    conversation_id=conversation.id,
                    department="general",
                    reason="requested",
                    created_at=created_at,
                    first_reply_at=created_at + first_reply_after if first_reply_after else None,
                    resolved_at=created_at + dt.timedelta(hours=1) if rating else None,
                    rating=rating,
                )
            )


@pytest.fixture
def seeder(services: Services) -> Seeder:
    return Seeder(services)


def copy_knowledge_base(target: Path, edits: dict[str, dict[str, Any]]) -> Path:
    """The default knowledge base under ``target``, with ``{faq_id: {field: value}}`` set on entries."""
    shutil.copytree(DEFAULT_ROOT, target, ignore=shutil.ignore_patterns("*.py", "__pycache__", "drafts"))
    for faq_file in (target / "faq").glob("*.yml"):
        entries = yaml.safe_load(faq_file.read_text(encoding="utf-8"))
        if not any(entry["id"] in edits for entry in entries):
            continue
        for entry in entries:
            entry.update(edits.get(entry["id"], {}))
        faq_file.write_text(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target
