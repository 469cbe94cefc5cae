"""On PostgreSQL the webhooks' intake is one round trip a batch, and its statement searches indexes.

Each round trip waits for a turn of the hub's loop, so the webhooks' acks depend on how few
there are: one statement, sent outside a transaction (no BEGIN, no COMMIT). This machine's
PostgreSQL runs without autovacuum, so new tables have no statistics, and the planner guesses
100 rows for a JSON batch: a join of that batch with the citizens table once came out as a
scan of every citizen, in each webhook's transaction.
(SQLite's plans: test_query_plans.py.)
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy import event, insert

from app.conversations.intake import GroupCommit, store_inbound_batch
from app.conversations.models import Citizen, Conversation, Message
from app.services import Services
from tests.conftest import fresh_postgres_database
from tests.integration.conversations.test_batching import _count, _event, _wait_answered
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
    assert len(plans) == 1  # find or open the conversations, and queue the events
    scans = {
        " ".join(statement.split())[:120]: found
        for statement, plan in plans.items()
        if (found := [m.group(1) for line in plan if (m := _SEQ_SCAN.search(line))])
    }
    assert not scans


async def test_the_webhooks_intake_is_one_round_trip_for_new_and_known_chats(services: Services) -> None:
    users = [f"U-one-{n}" for n in range(3)]
    sent = _QueriesByCheckout(services)
    group = GroupCommit(services.intake.transactions)

    first = await group.store([_event(u, f"before-{u}", "สวัสดี") for u in users])
    batch = [_event(u, f"one-{u}-{n}", "ขอบคุณ") for u in users for n in range(2)]
    again = await group.store([*batch, _event(users[0], "one-U-one-0-0", "ซ้ำ")])
    sent.stop()

    # The intake's checkouts sent its statement and nothing else: no BEGIN, no COMMIT.
    intake = [queries for queries in sent.checkouts if any("json_to_recordset" in q for q in queries)]
    assert [len(queries) for queries in intake] == [1, 1]
    assert len({a.conversation_id for a in first}) == 3
    assert [a.conversation_id for a in again[:6:2]] == [a.conversation_id for a in first]
    assert [a.work_item_id is not None for a in again] == [True] * 6 + [False]
    assert await _count(services, Message, Message.text == "ขอบคุณ") == 6
    assert await _count(services, Citizen, Citizen.external_id.in_(users)) == 3


async def test_the_workers_claim_in_one_round_trip(services: Services) -> None:
    sent = _QueriesByCheckout(services)

    await GroupCommit(services.intake.transactions).store(
        [_event(f"U-c{n}", f"c{n}", "สวัสดี") for n in range(4)]
    )
    await _wait_answered(services, [f"c{n}" for n in range(4)])
    sent.stop()

    claims = [queries for queries in sent.checkouts if any("SKIP LOCKED" in q for q in queries)]
    assert claims and all(len(queries) == 1 for queries in claims)  # no BEGIN, no second statement, no COMMIT


class _QueriesByCheckout:
    """What each checkout of the hub's pool sent to PostgreSQL: statements, and BEGIN and COMMIT too.

    SQLAlchemy reports the statements; asyncpg's query log has the rest (it leaves out prepared
    statements, which SQLAlchemy reports).
    """

    def __init__(self, services: Services) -> None:
        self.checkouts: list[list[str]] = []
        self._engine = services.engine.sync_engine
        self._now: dict[Any, list[str]] = {}  # asyncpg connection -> what its checkout sent
        self._loggers: dict[Any, Callable[[Any], None]] = {}
        event.listen(self._engine.pool, "checkout", self._checked_out)
        event.listen(self._engine, "before_cursor_execute", self._statement)

    def _checked_out(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        driver = dbapi_connection.driver_connection
        self._now[driver] = queries = []
        self.checkouts.append(queries)
        if driver not in self._loggers:
            self._loggers[driver] = lambda record: self._now[driver].append(record.query)
            driver.add_query_logger(self._loggers[driver])

    def _statement(self, connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self._now[connection.connection.driver_connection].append(statement)

    def stop(self) -> None:
        event.remove(self._engine.pool, "checkout", self._checked_out)
        event.remove(self._engine, "before_cursor_execute", self._statement)
        for driver, logger in self._loggers.items():
            driver.remove_query_logger(logger)
