"""On PostgreSQL the intake is two statements a batch, and both search indexes as the service grows.

Each statement is a round trip that waits for a turn of the hub's loop, so the webhooks' acks
depend on how few there are. This machine's PostgreSQL runs without autovacuum, so new tables
have no statistics, and the planner guesses 100 rows for a JSON batch: a join of that batch with
the citizens table once came out as a scan of every citizen, in each webhook's transaction.
(SQLite's plans: test_query_plans.py.)
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event, insert

from app.conversations.intake import Accepted, store_inbound_batch
from app.conversations.models import Citizen, Conversation, Message
from app.services import Services
from channels.base import InboundMessage
from tests.conftest import fresh_postgres_database
from tests.integration.conversations.test_batching import _count, _event
from tests.integration.processes import NEEDS_POSTGRES

pytestmark = NEEDS_POSTGRES
KNOWN_CITIZENS = 3000
_SEQ_SCAN = re.compile(r"Seq Scan on (\w+)")


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    async with fresh_postgres_database() as url:
        yield url


async def test_the_intake_searches_indexes_with_thousands_of_citizens(services: Services) -> None:
    async with services.sessionmaker() as session, session.begin():
        await session.execute(
            insert(Citizen),
            [{"id": f"c{n}", "channel": "line", "external_id": f"U-many-{n}"} for n in range(KNOWN_CITIZENS)],
        )
        await session.execute(
            insert(Conversation),
            [{"id": f"v{n}", "citizen_id": f"c{n}", "channel": "line"} for n in range(KNOWN_CITIZENS)],
        )
    statements: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        statements.append((statement, parameters))

    async with services.sessionmaker() as session, session.begin():
        connection = await session.connection()
        assert connection.sync_connection is not None
        event.listen(connection.sync_connection, "before_cursor_execute", keep)
        events = [_event("U-many-7", "plan-1", "สวัสดี"), _event("U-brand-new", "plan-2", "สวัสดี")]
        accepted = await store_inbound_batch(session, events)
        event.remove(connection.sync_connection, "before_cursor_execute", keep)
        plans = {
            statement: [
                row[0] for row in await connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
            ]
            for statement, parameters in statements
        }

    assert accepted[0].conversation_id == "v7" and accepted[1].conversation_id not in (None, "v7")
    assert len(plans) == 2  # find or open the conversations; queue the rest
    scans = {
        " ".join(statement.split())[:120]: found
        for statement, plan in plans.items()
        if (found := [m.group(1) for line in plan if (m := _SEQ_SCAN.search(line))])
    }
    assert not scans


async def test_a_batch_takes_two_statements_for_new_and_known_chats(services: Services) -> None:
    users = [f"U-one-{n}" for n in range(3)]

    async def store(events: list[InboundMessage]) -> tuple[list[Accepted], int]:
        statements: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            statements.append(statement)

        async with services.sessionmaker() as session, session.begin():
            connection = (await session.connection()).sync_connection
            assert connection is not None
            event.listen(connection, "before_cursor_execute", count)  # this transaction's only
            accepted = await store_inbound_batch(session, events)
        return accepted, len(statements)

    first, first_statements = await store([_event(u, f"before-{u}", "สวัสดี") for u in users])
    batch = [_event(u, f"one-{u}-{n}", "ขอบคุณ") for u in users for n in range(2)]
    again, again_statements = await store([*batch, _event(users[0], "one-U-one-0-0", "ซ้ำ")])

    # Each time: find (or open) the conversations, then queue everything else.
    assert (first_statements, again_statements) == (2, 2)
    assert len({a.conversation_id for a in first}) == 3
    assert [a.conversation_id for a in again[:6:2]] == [a.conversation_id for a in first]
    assert [a.work_item_id is not None for a in again] == [True] * 6 + [False]
    assert await _count(services, Message, Message.text == "ขอบคุณ") == 6
    assert await _count(services, Citizen, Citizen.external_id.in_(users)) == 3
