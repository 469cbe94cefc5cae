"""The hub as the property tests drive it: signed posts, and counts of what intake stored."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select

from app.conversations.models import Message, WorkItem
from app.services import Services
from tests.fakes.facebook.graph_api import MessengerFixtures
from tests.fakes.line.fixtures import LineFixtures

# Small enough that a body over it is cheap to generate, large enough for every other case here
# (10,000 Thai characters are 30,000 bytes of UTF-8; 10,000 levels of nesting are 20,000 bytes).
MAX_BODY_BYTES = 64_000
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
ON_BOTH_DATABASES = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


@dataclass(frozen=True)
class Stored:
    """What intake has written: the queue and the citizens' messages (workers add only replies)."""

    work_items: int
    inbound_messages: int


class Hub:
    """The running hub as one test drives it."""

    def __init__(
        self, client: httpx.AsyncClient, services: Services, line: LineFixtures, messenger: MessengerFixtures
    ) -> None:
        self.client = client
        self.services = services
        self.line = line
        self.messenger = messenger

    def __repr__(self) -> str:  # a failing example prints its arguments: not the whole app
        return "Hub()"

    async def post_line(self, body: bytes, *, signed: bool = True) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if signed:
            headers["X-Line-Signature"] = self.line.sign(body)
        return await self.client.post("/webhooks/line", content=body, headers=headers)

    async def post_facebook(self, body: bytes, *, signed: bool = True) -> httpx.Response:
        headers = self.messenger.headers(body) if signed else {"Content-Type": "application/json"}
        return await self.client.post("/webhooks/facebook", content=body, headers=headers)

    async def stored(self) -> Stored:
        async with self.services.sessionmaker() as session:
            items = await session.scalar(select(func.count()).select_from(WorkItem))
            inbound = await session.scalar(
                select(func.count()).select_from(Message).where(Message.direction == "in")
            )
        return Stored(int(items or 0), int(inbound or 0))

    async def inbound_texts(self, external_id: str) -> list[str | None]:
        """The texts of every stored citizen message with this platform id (one when stored once)."""
        async with self.services.sessionmaker() as session:
            rows = await session.scalars(
                select(Message.text).where(Message.direction == "in", Message.external_id == external_id)
            )
            return list(rows.all())
