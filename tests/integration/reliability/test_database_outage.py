"""PostgreSQL goes away for a few seconds under load, as a restart would take it, and comes back."""

from __future__ import annotations

import asyncio

import asyncpg

from tests.conftest import POSTGRES_ADMIN_DSN, wait_for
from tests.fakes.line.api import FakeLineApi
from tests.integration.processes import NEEDS_POSTGRES, StartHubs
from tests.integration.reliability.audit import (
    assert_duplicates_explained,
    assert_nothing_lost,
    settled_audit,
)
from tests.integration.reliability.processes import SETTLE_TIMEOUT, LineSender, hub_environment

pytestmark = NEEDS_POSTGRES
BURST = 120
USERS = 40
WORKERS = 4
OUTAGE_SECONDS = 3.0


async def _admin(*statements: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN)  # the shared db, never the hub's own
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def take_database_down(database: str) -> None:
    """What a restart does to a client: new connections refused, open ones cut."""
    await _admin(
        f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false',
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{database}' AND pid <> pg_backend_pid()",
    )


async def bring_database_back(database: str) -> None:
    await _admin(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')


async def test_an_outage_mid_load_refuses_with_5xx_and_the_hub_recovers_by_itself(
    postgres_url: str,
    hubs: StartHubs,
    fake_line: FakeLineApi,
    line_sender: LineSender,
) -> None:
    database = postgres_url.rsplit("/", 1)[1]
    env = hub_environment(postgres_url, fake_line, GOVCHAT_LEASE_SECONDS="5", GOVCHAT_WORKERS=str(WORKERS))
    fake_line.delay("reply", 0.1)
    (hub,) = hubs(env, "hub")
    events = line_sender.burst(BURST, USERS)
    line_sender.concurrency = 4
    readiness: list[int] = []

    async def outage() -> None:
        await wait_for(lambda: sum(e.acked for e in events) >= BURST // 4, SETTLE_TIMEOUT, 0.01)
        await take_database_down(database)
        try:
            await asyncio.sleep(OUTAGE_SECONDS / 2)
            readiness.append((await line_sender.http.get(f"{hub.url}/readyz")).status_code)
            await asyncio.sleep(OUTAGE_SECONDS / 2)
        finally:
            await bring_database_back(database)

    await asyncio.gather(outage(), line_sender.send_all(events, lambda _n: hub.url, pace=0.05))
    first_answers = [e.statuses[0] for e in events]
    refused = [s for s in first_answers if s is not None and s >= 500]
    # LINE redelivers whatever got no 2xx; the hub must be taking requests again by itself.
    await line_sender.redeliver(events, hub.url)
    result = await settled_audit(postgres_url, fake_line, events)
    ready_after = (await line_sender.http.get(f"{hub.url}/readyz")).status_code
    print(
        result.report("PostgreSQL outage mid-load")
        + f" first-answers: 200={first_answers.count(200)} 5xx={len(refused)}"
        f" other={[s for s in first_answers if s != 200 and (s is None or s < 500)]}"
        f" readyz during={readiness} after={ready_after}"
    )

    assert hub.alive
    assert refused, "the outage must refuse some webhooks, or it did not test anything"
    assert all(s == 200 or (s is not None and s >= 500) for s in first_answers), (
        "during an outage a webhook must get a 5xx (LINE redelivers it), never a 4xx or no answer"
    )
    assert readiness == [503] and ready_after == 200
    assert_nothing_lost(result)  # includes: every event that got a 200 is stored and answered
    assert_duplicates_explained(result, in_flight_limit=WORKERS * 5)
