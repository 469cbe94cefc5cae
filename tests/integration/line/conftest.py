"""The hub wired to a fake LINE API on loopback, on the hub's database (``hub_database_url``: both
SQLite and PostgreSQL unless a module or class keeps to SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.conversations.models import Citizen, Conversation, Message, WorkItem
from app.services import Services
from app.settings import Settings
from channels.base import Channel
from tests.conftest import make_settings, wait_for
from tests.fakes.line.api import FakeLineApi
from tests.fakes.line.fixtures import TEST_SECRET, LineFixtures, line_fixtures

__all__ = ["line_fixtures"]

TEXT_EVENT = "ruby-sdk_minimum_text_message_event"
REPLY_TIMEOUT = 30.0


def line_settings(database_url: str, var_dir: Path, fake: FakeLineApi, **overrides: Any) -> Settings:
    return make_settings(
        database_url,
        var_dir,
        line_channel_secret=TEST_SECRET,
        line_channel_access_token=fake.access_token,
        line_api_base_url=fake.url,
        line_data_api_base_url=fake.data_url,
        **overrides,
    )


@pytest.fixture
def fake_line() -> Iterator[FakeLineApi]:
    with FakeLineApi() as fake:
        yield fake


@pytest.fixture
def line_overrides() -> dict[str, Any]:
    """Settings a test module changes (override this fixture)."""
    return {}


@pytest.fixture
def settings(
    hub_database_url: str, tmp_path: Path, fake_line: FakeLineApi, line_overrides: dict[str, Any]
) -> Settings:
    return line_settings(hub_database_url, tmp_path, fake_line, **line_overrides)


@dataclass
class LineHub:
    """A citizen's LINE app and the hub, as one test sees them."""

    client: httpx.AsyncClient
    fake: FakeLineApi
    fixtures: LineFixtures
    services: Services

    async def post(self, *events: dict[str, Any]) -> httpx.Response:
        body, headers = self.fixtures.signed(self.fixtures.envelope(*events))
        return await self.client.post("/webhooks/line", content=body, headers=headers)

    async def post_raw(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return await self.client.post("/webhooks/line", content=body, headers=headers)

    def text(self, user_id: str, text: str, *, fresh_token: bool = True, **changes: Any) -> dict[str, Any]:
        """A one-to-one text event; with a reply token the fake LINE API will honour."""
        event = self.fixtures.fresh(self.fixtures.event(TEXT_EVENT), user_id=user_id, **changes)
        event["message"]["text"] = text
        if fresh_token:
            event["replyToken"] = self.fake.issue_reply_token(user_id)
        return event

    def event(self, name: str, user_id: str, index: int = 0, **changes: Any) -> dict[str, Any]:
        """A fixture event made current, in ``user_id``'s chat, with a valid reply token."""
        event = self.fixtures.fresh(self.fixtures.event(name, index), user_id=user_id, **changes)
        if "replyToken" in event:
            event["replyToken"] = self.fake.issue_reply_token(changes.get("group_id") or user_id)
        return event

    async def wait_deliveries(self, chat_id: str, count: int = 1) -> list[Any]:
        return list(
            await wait_for(
                lambda: len(self.fake.deliveries(chat_id)) >= count and self.fake.deliveries(chat_id),
                REPLY_TIMEOUT,
            )
        )

    async def work_items(self) -> list[WorkItem]:
        async with self.services.sessionmaker() as session:
            return list((await session.scalars(select(WorkItem).order_by(WorkItem.id))).all())

    async def messages(self, chat_id: str) -> list[Message]:
        async with self.services.sessionmaker() as session:
            rows = await session.scalars(
                select(Message)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .join(Citizen, Citizen.id == Conversation.citizen_id)
                .where(Citizen.channel == Channel.LINE, Citizen.external_id == chat_id)
                .order_by(Message.id)
            )
            return list(rows.all())

    async def citizen(self, chat_id: str) -> Citizen | None:
        async with self.services.sessionmaker() as session:
            return await session.scalar(
                select(Citizen).where(Citizen.channel == Channel.LINE, Citizen.external_id == chat_id)
            )

    async def conversation(self, chat_id: str) -> Conversation | None:
        async with self.services.sessionmaker() as session:
            return await session.scalar(
                select(Conversation)
                .join(Citizen, Citizen.id == Conversation.citizen_id)
                .where(Citizen.channel == Channel.LINE, Citizen.external_id == chat_id)
            )


@pytest.fixture
def line(
    client: httpx.AsyncClient, fake_line: FakeLineApi, line_fixtures: LineFixtures, services: Services
) -> LineHub:
    return LineHub(client, fake_line, line_fixtures, services)
