"""The hub wired to the fake Graph API on loopback, on the hub's database (``hub_database_url``: both
SQLite and PostgreSQL unless a module or class keeps to SQLite)."""

from __future__ import annotations

from collections.abc import Sequence
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
from tests.fakes.facebook.graph_api import (
    PAGE_ACCESS_TOKEN,
    VERIFY_TOKEN,
    FakeGraphApi,
    MessengerFixtures,
    Recorded,
    graph_api,
    messenger_fixtures,
)

__all__ = ["graph_api", "messenger_fixtures"]

REPLY_TIMEOUT = 30.0


def messenger_settings(
    database_url: str, var_dir: Path, fake: FakeGraphApi, fixtures: MessengerFixtures, **overrides: Any
) -> Settings:
    return make_settings(
        database_url,
        var_dir,
        facebook_app_secret=fixtures.app_secret,
        facebook_verify_token=VERIFY_TOKEN,
        facebook_page_access_token=PAGE_ACCESS_TOKEN,
        facebook_graph_api_base_url=fake.base_url,
        **overrides,
    )


@pytest.fixture
def facebook_overrides() -> dict[str, Any]:
    """Settings a test class changes (override this fixture)."""
    return {}


@pytest.fixture
def settings(
    hub_database_url: str,
    tmp_path: Path,
    graph_api: FakeGraphApi,
    messenger_fixtures: MessengerFixtures,
    facebook_overrides: dict[str, Any],
) -> Settings:
    return messenger_settings(hub_database_url, tmp_path, graph_api, messenger_fixtures, **facebook_overrides)


@dataclass
class Messenger:
    """What Meta does towards the hub: signed webhook calls with the official bodies."""

    client: httpx.AsyncClient
    fixtures: MessengerFixtures
    services: Services
    graph: FakeGraphApi

    async def post(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.client.post(
            "/webhooks/facebook",
            content=body,
            headers=self.fixtures.headers(body) if headers is None else headers,
        )

    async def post_fixture(self, name: str) -> httpx.Response:
        return await self.post(self.fixtures.body(name))

    async def work_items(self) -> list[WorkItem]:
        async with self.services.sessionmaker() as session:
            return list((await session.scalars(select(WorkItem).order_by(WorkItem.id))).all())

    async def messages(self, direction: str | None = None) -> list[Message]:
        async with self.services.sessionmaker() as session:
            statement = select(Message).order_by(Message.id)
            if direction is not None:
                statement = statement.where(Message.direction == direction)
            return list((await session.scalars(statement)).all())

    async def conversation_of(self, user_id: str) -> Conversation:
        async with self.services.sessionmaker() as session:
            conversation = await session.scalar(
                select(Conversation)
                .join(Citizen, Citizen.id == Conversation.citizen_id)
                .where(Citizen.channel == Channel.FACEBOOK, Citizen.external_id == user_id)
            )
        assert conversation is not None
        return conversation

    async def citizen(self, user_id: str) -> Citizen:
        async with self.services.sessionmaker() as session:
            citizen = await session.scalar(
                select(Citizen).where(Citizen.channel == Channel.FACEBOOK, Citizen.external_id == user_id)
            )
        assert citizen is not None
        return citizen

    async def delivered_to(self, user_id: str, count: int = 1) -> Sequence[Recorded]:
        """Wait until the fake Graph API accepted ``count`` messages for this citizen."""

        def enough() -> list[Recorded] | None:
            delivered = self.graph.delivered(user_id)
            return delivered if len(delivered) >= count else None

        result: Sequence[Recorded] = await wait_for(enough, timeout=REPLY_TIMEOUT)
        return result

    async def all_handled(self) -> None:
        """Wait until the workers have handled every stored event."""

        async def done() -> bool:
            return all(item.status == "done" for item in await self.work_items())

        await wait_for(done, timeout=REPLY_TIMEOUT)

    async def settled(self, message_id: int) -> Message:
        """Wait until an outbound message is no longer pending."""

        async def done() -> Message | None:
            async with self.services.sessionmaker() as session:
                row = await session.get(Message, message_id)
            return row if row is not None and row.delivery_status != "pending" else None

        result: Message = await wait_for(done, timeout=REPLY_TIMEOUT)
        return result


@pytest.fixture
def messenger(
    client: httpx.AsyncClient,
    messenger_fixtures: MessengerFixtures,
    services: Services,
    graph_api: FakeGraphApi,
) -> Messenger:
    return Messenger(client, messenger_fixtures, services, graph_api)
