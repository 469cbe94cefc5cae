"""On SQLite, the queue's statements search indexes: none scans a table that grows with use.

SQLite keeps no statistics here (nothing runs ANALYZE), so its planner may choose a scan
where an index would serve. One did: a list of (channel, external_id) pairs made every
group-committed intake scan the whole citizens table, slower with each new citizen.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.conversations import work_queue
from app.conversations.intake import GroupCommit
from app.services import Services
from tests.integration.conversations.test_batching import _event, _wait_answered

# Tables that stay small (configuration, counters) may be scanned; the rest grow with every message.
SMALL_TABLES = {"officers", "alembic_version", "complaint_counters"}
_SCAN = re.compile(r"^SCAN (?!CONSTANT |\d+ CONSTANT )(\w+)")  # a table's name; not a list of values


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


class _Plans:
    """Each statement the hub runs, with SQLite's plan for it (asked on the same connection)."""

    def __init__(self) -> None:
        self.plans: dict[str, list[str]] = {}

    def __call__(
        self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool
    ) -> None:
        if conn.dialect.driver != "pysqlite":  # the tests' own queries (aiosqlite), not the hub's units
            return
        verb = statement.lstrip().split(" ", 1)[0].upper()
        if executemany or verb not in {"SELECT", "INSERT", "UPDATE", "DELETE"} or statement in self.plans:
            return
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).fetchall()
        self.plans[statement] = [str(row[-1]) for row in rows]

    def scans(self) -> dict[str, list[str]]:
        """Statements scanning a growing table, with the offending plan lines."""
        found: dict[str, list[str]] = {}
        for statement, plan in self.plans.items():
            bad = [line for line in plan if (m := _SCAN.match(line)) and m.group(1) not in SMALL_TABLES]
            if bad:
                found[" ".join(statement.split())[:160]] = bad
        return found


@pytest.fixture
def plans() -> Iterator[_Plans]:
    listener = _Plans()
    event.listen(Engine, "after_cursor_execute", listener)
    try:
        yield listener
    finally:
        event.remove(Engine, "after_cursor_execute", listener)


async def test_intake_handling_delivery_and_release_search_indexes(services: Services, plans: _Plans) -> None:
    group = GroupCommit(services.intake.transactions)
    await group.store([_event("U-known-1", "p0", "สวัสดี"), _event("U-known-2", "p1", "สวัสดี")])
    # Known and new citizens, several at once: the lookups get lists of chats.
    requests = [[_event(f"U-known-{n % 3}", f"p{n + 2}", "สวัสดีครับ")] for n in range(6)]
    await asyncio.gather(*(group.store(events) for events in requests))
    await _wait_answered(services, [f"p{n}" for n in range(8)])
    await services.intake.transactions.run(lambda session: work_queue.release_held(session, "nobody:%"))

    statements = " ".join(plans.plans)
    assert (
        "FROM citizens" in statements and "FROM work_items" in statements and "UPDATE messages" in statements
    )
    assert plans.scans() == {}
