"""PostgreSQL connections are pinged before use only after sitting idle in the pool.

A connection cut while idle (a database restart at night) must not fail the next message; a
connection that is in constant use must not pay a round trip for a ping on every transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import engine as db_engine
from tests.conftest import POSTGRES_ADMIN_DSN, wait_for
from tests.integration.processes import NEEDS_POSTGRES

pytestmark = NEEDS_POSTGRES
IDLE = 0.2


@pytest.fixture
async def engine(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[AsyncEngine]:
    monkeypatch.setattr(db_engine, "PING_AFTER_IDLE_SECONDS", IDLE)
    engine = db_engine.create_engine(postgres_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(text("SELECT pg_backend_pid()")) or 0)


async def test_a_connection_cut_while_idle_is_replaced_before_use(engine: AsyncEngine) -> None:
    first = await _backend_pid(engine)
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
        await wait_for(lambda: _gone(admin, first), 5)  # as a restart leaves it: dead in the pool
    finally:
        await admin.close()
    await asyncio.sleep(IDLE * 1.5)

    second = await _backend_pid(engine)  # without the ping: InterfaceError, "connection is closed"

    assert second != first


async def test_connections_in_constant_use_are_not_pinged(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings: list[object] = []
    real_ping = engine.dialect.do_ping

    def counting_ping(dbapi_connection: object) -> bool:
        pings.append(dbapi_connection)
        return bool(real_ping(dbapi_connection))

    monkeypatch.setattr(engine.dialect, "do_ping", counting_ping)
    pids = {await _backend_pid(engine) for _ in range(5)}
    assert len(pids) == 1 and pings == []  # one pooled connection, used back to back

    await asyncio.sleep(IDLE * 1.5)
    await _backend_pid(engine)

    assert len(pings) == 1


async def _gone(admin: asyncpg.Connection, pid: int) -> bool:
    return not await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid)
