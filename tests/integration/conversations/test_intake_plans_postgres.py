"""On PostgreSQL, the intake's statements search indexes, not whole tables, as the service grows.

This machine's PostgreSQL runs without autovacuum, so new tables have no statistics, and the
planner guesses 100 rows for a JSON batch: a join of that batch with the citizens table then
came out as a scan of every citizen, in each webhook's transaction.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import event, insert

from app.conversations.intake import store_inbound_batch
from app.conversations.models import Citizen, Conversation
from app.services import Services
from tests.integration.conversations.test_batching import _event

KNOWN_CITIZENS = 3000
_SEQ_SCAN = re.compile(r"Seq Scan on (\w+)")


async def test_the_intake_searches_indexes_with_thousands_of_citizens(services: Services) -> None:
    if services.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's plans: test_query_plans.py")
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
