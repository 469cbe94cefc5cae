"""The routing set (tests/data/routing.jsonl) through the live pipeline, embedded NLU.

Every conversation is said through the web-chat API and answered by the real workers and
decision policy; the department it is queued in is compared with the set's. The database does
not change a routing decision, so this runs on SQLite only. Numbers per department:
``benchmarks/routing_accuracy.py``.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from app.services import Services
from app.settings import Settings
from benchmarks.routing_accuracy import accuracy_table, load_routing_set, run_routing_set, topic_agreement
from tests.conftest import make_settings

MIN_ACCURACY = 0.95  # overall
MIN_DEPARTMENT_ACCURACY = 0.9  # each department (the set holds a few hard phrasings on purpose)
DEPARTMENTS = {"registration", "accounts", "information", "general", "complaints"}


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, GOVCHAT_WEBCHAT_SESSIONS_PER_HOUR=100_000)


def test_the_set_covers_every_department_and_every_way_of_asking() -> None:
    cases = load_routing_set()
    assert len(cases) >= 40
    assert {c.department for c in cases} == DEPARTMENTS
    assert all(sum(c.department == d for c in cases) >= 5 for d in DEPARTMENTS)
    assert any(t.after_minutes > 30 for c in cases for t in c.turns)  # topics too old to route by
    assert any(len(c.turns) == 1 and c.department != "general" for c in cases)  # topic named in the request


async def test_requests_for_a_person_reach_the_right_department(
    client: httpx.AsyncClient, services: Services
) -> None:
    outcomes = await run_routing_set(client, services, load_routing_set())

    table = accuracy_table(outcomes)
    misses = [(o.case.id, o.case.department, o.department) for o in outcomes if not o.routed_right]
    *departments, (_, right, total) = table
    assert right / total >= MIN_ACCURACY, (table, misses)
    assert all(r / t >= MIN_DEPARTMENT_ACCURACY for _, r, t in departments), (table, misses)
    agreed, named = topic_agreement(outcomes)
    assert agreed >= named - 1, [(o.case.id, o.case.topic, o.topic) for o in outcomes if o.case.topic]
    # a queued conversation always says what the citizen asked, except when they asked nothing
    asked = [o for o in outcomes if o.case.department != "general" and o.state != "bot"]
    assert all(o.question for o in asked), [o.case.id for o in asked if not o.question]
