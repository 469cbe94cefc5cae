"""Officer actions are units of work: on SQLite, one that finds the write lock taken waits for it
in a thread while the hub goes on answering, and, tried once already, still changes things once."""

from __future__ import annotations

import asyncio
import sqlite3

import httpx
import pytest
from sqlalchemy import Select, func, select

from app.conversations.models import Message
from app.db.engine import sqlite_file
from app.officers.models import AuditRecord
from app.services import Services
from app.settings import Settings
from tests.conftest import queue_drained
from tests.integration.officers.conftest import conversation_url, make_officer, queue_citizen


@pytest.fixture
def hub_database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url  # SQLite's one writer is what is tested


async def _count(services: Services, statement: Select[tuple[int]]) -> int:
    async with services.sessionmaker() as session:
        return int(await session.scalar(statement) or 0)


async def test_a_claim_while_another_connection_writes_waits_for_it_and_happens_once(
    client: httpx.AsyncClient, services: Services, settings: Settings
) -> None:
    citizen = await queue_citizen(client, services, "general")
    officer = await make_officer(client, services, "somsri", ["general"])
    await queue_drained(services)
    database = sqlite_file(settings.resolved_database_url())
    assert database is not None
    other = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    try:
        claim = asyncio.create_task(
            client.post(conversation_url(citizen.conversation_id, "claim"), headers=officer.headers)
        )
        queue = await client.get("/api/officer/queue", headers=officer.headers)
        assert queue.status_code == 200  # reads go on meanwhile, and the loop is not held
        assert [row["id"] for row in queue.json()["conversations"]] == [citizen.conversation_id]
        assert not claim.done()
        other.execute("COMMIT")
        response = await asyncio.wait_for(claim, 30)
    finally:
        other.close()

    assert response.status_code == 200 and response.json()["assigned_to"] == officer.id
    joined = select(func.count()).where(
        Message.conversation_id == citizen.conversation_id, Message.text == services.responses.officer_joined
    )
    claims = select(func.count()).where(
        AuditRecord.action == "claim", AuditRecord.target == citizen.conversation_id
    )
    assert (await _count(services, joined), await _count(services, claims)) == (1, 1)
