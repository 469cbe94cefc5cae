"""Officers, citizens and escalated conversations for the officer-queue tests."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.conversations import service as conversations
from app.conversations.intake import store_inbound
from app.conversations.models import Conversation, ConversationState, Escalation, Message
from app.db.schema import utcnow
from app.officers import admin
from app.officers.models import Role
from app.services import Services
from app.webchat.service import find_conversation
from channels.base import Channel, InboundKind, InboundMessage
from tests.conftest import ADMIN_PASSWORD, wait_for

OFFICER_PASSWORD = "officer-password-1"


@dataclass
class Citizen:
    """A web-chat citizen, driven through the web-chat API."""

    client: httpx.AsyncClient
    session_id: str
    headers: dict[str, str]
    sent: int = 0
    conversation_id: str = ""

    async def say(self, text: str) -> str:
        self.sent += 1
        response = await self.client.post(
            f"/api/webchat/sessions/{self.session_id}/messages",
            json={"text": text, "client_message_id": f"m{self.sent}-{uuid.uuid4().hex[:6]}"},
            headers=self.headers,
        )
        assert response.status_code == 202, response.text
        return str(response.json()["message_id"])

    async def messages(self) -> list[dict[str, Any]]:
        response = await self.client.get(
            f"/api/webchat/sessions/{self.session_id}/messages", headers=self.headers
        )
        assert response.status_code == 200
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages

    async def replies(self) -> list[dict[str, Any]]:
        return [m for m in await self.messages() if m["direction"] == "out"]

    async def wait_for_reply(self, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        async def enough() -> list[dict[str, Any]] | None:
            replies = await self.replies()
            return replies if len(replies) >= count else None

        result: list[dict[str, Any]] = await wait_for(enough, timeout=timeout)
        return result


@dataclass
class OfficerSession:
    id: str
    username: str
    headers: dict[str, str] = field(default_factory=dict)


async def login(client: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    response = await client.post("/api/officer/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def make_officer(
    client: httpx.AsyncClient,
    services: Services,
    username: str,
    departments: list[str],
    role: Role = Role.OFFICER,
) -> OfficerSession:
    created = await admin.create_officer(
        services.transactions,
        username=username,
        password=OFFICER_PASSWORD,
        departments=departments,
        role=role,
        known_departments=services.kb.store.current.departments,
    )
    return OfficerSession(created.id, username, await login(client, username, OFFICER_PASSWORD))


async def new_citizen(client: httpx.AsyncClient, services: Services) -> Citizen:
    response = await client.post("/api/webchat/sessions")
    assert response.status_code == 201
    body = response.json()
    citizen = Citizen(client, body["session_id"], {"Authorization": f"Bearer {body['token']}"})
    async with services.sessionmaker() as session:
        conversation = await find_conversation(session, citizen.session_id)
    assert conversation is not None
    citizen.conversation_id = conversation.id
    return citizen


async def queue_citizen(
    client: httpx.AsyncClient,
    services: Services,
    department: str = "general",
    reason: str = "requested",
    waiting_since: dt.datetime | None = None,
    first_words: str | None = "ขอสอบถามเรื่องที่ซับซ้อนค่ะ",
) -> Citizen:
    """A web-chat citizen whose conversation waits in ``department``'s queue (set up directly)."""
    citizen = await new_citizen(client, services)
    if first_words:
        await citizen.say(first_words)
        await citizen.wait_for_reply(1)
    async with services.sessionmaker() as session, session.begin():
        conversation = await session.get(Conversation, citizen.conversation_id)
        assert conversation is not None
        await session.run_sync(conversations.escalate, conversation, department, reason)
        if waiting_since is not None:
            conversation.waiting_since = waiting_since
            escalation = await session.run_sync(conversations.open_escalation, conversation)
            assert escalation is not None
            escalation.created_at = waiting_since
    return citizen


def conversation_url(conversation_id: str, action: str = "") -> str:
    """``/api/officer/conversations/{id}`` or one of its actions (``claim``, ``messages``, ...)."""
    return f"/api/officer/conversations/{conversation_id}" + (f"/{action}" if action else "")


async def conversation_row(services: Services, conversation_id: str) -> Conversation:
    async with services.sessionmaker() as session:
        conversation = await session.get(Conversation, conversation_id)
    assert conversation is not None
    return conversation


async def escalations_of(services: Services, conversation_id: str) -> list[Escalation]:
    async with services.sessionmaker() as session:
        rows = await session.scalars(
            select(Escalation)
            .where(Escalation.conversation_id == conversation_id)
            .order_by(Escalation.created_at)
        )
        return list(rows)


async def wait_until_state(services: Services, conversation_id: str, state: ConversationState) -> None:
    async def reached() -> bool:
        return (await conversation_row(services, conversation_id)).state == state

    await wait_for(reached)


async def message_row(services: Services, message_id: str) -> Message:
    async with services.sessionmaker() as session:
        message = await session.get(Message, int(message_id))
    assert message is not None
    return message


@pytest.fixture
async def admin_headers(client: httpx.AsyncClient) -> dict[str, str]:
    return await login(client, "admin", ADMIN_PASSWORD)


def hours_ago(hours: float) -> dt.datetime:
    return utcnow() - dt.timedelta(hours=hours)


async def postback(services: Services, session_id: str, data: str) -> None:
    """A button press, as the LINE and Messenger adapters store it."""
    async with services.sessionmaker() as session, session.begin():
        await store_inbound(
            session,
            InboundMessage(
                channel=Channel.WEBCHAT,
                dedupe_key=f"postback-{data}-{session_id}",
                user_id=session_id,
                kind=InboundKind.POSTBACK,
                timestamp=utcnow(),
                payload=data,
            ),
        )
    services.workers.notify_work()
