"""Two hubs on PostgreSQL and Redis; one is SIGKILLed mid-burst and never comes back."""

from __future__ import annotations

import asyncio
import signal

import pytest
from sqlalchemy import func, select

from app.conversations.models import DeliveryStatus, Message, WorkItem, WorkStatus
from app.db.engine import create_engine, create_sessionmaker
from tests.conftest import wait_for
from tests.fakes.line.api import FakeLineApi
from tests.integration.processes import NEEDS_POSTGRES, StartHubs
from tests.integration.reliability.audit import (
    assert_duplicates_explained,
    assert_nothing_lost,
    settled_audit,
)
from tests.integration.reliability.processes import SETTLE_TIMEOUT, LineSender, hub_environment

pytestmark = [pytest.mark.redis, *NEEDS_POSTGRES]
REDIS_URL = "redis://127.0.0.1:6379/14"
BURST = 200
USERS = 60
WORKERS = 4


async def held_by(database_url: str, pid: int) -> int:
    """Work items and outbound messages a hub process (worker ids ``host:pid:...``) still holds."""
    pattern = f"%:{pid}:%"
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            items = await session.scalar(
                select(func.count())
                .select_from(WorkItem)
                .where(WorkItem.status == WorkStatus.PROCESSING, WorkItem.locked_by.like(pattern))
            )
            sends = await session.scalar(
                select(func.count())
                .select_from(Message)
                .where(
                    Message.delivery_locked_by.like(pattern),
                    Message.delivery_status == DeliveryStatus.PENDING,
                    Message.delivery_lease_until.is_not(None),
                )
            )
        return int(items or 0) + int(sends or 0)
    finally:
        await engine.dispose()


async def test_the_surviving_hub_finishes_the_killed_hubs_work_once_its_leases_expire(
    postgres_url: str,
    hubs: StartHubs,
    fake_line: FakeLineApi,
    line_sender: LineSender,
) -> None:
    env = hub_environment(
        postgres_url, fake_line, REDIS_URL=REDIS_URL, GOVCHAT_LEASE_SECONDS="3", GOVCHAT_WORKERS=str(WORKERS)
    )
    # Sends that take a while keep work leased for most of each batch's life, so the kill below
    # lands while the hub holds some (a batch's sends finish together; then it holds nothing
    # until its next claim).
    fake_line.delay("reply", 0.5)
    fake_line.delay("push", 0.5)
    first, second = hubs(env, "a", "b")
    assert first.process is not None
    events = line_sender.burst(BURST, USERS)

    pid = first.process.pid

    async def kill_and_count_what_it_held() -> tuple[int, int]:
        # Kill while it holds leased work (each send takes >= 0.5 s), so the takeover is tested
        # whatever the scheduling. The hub is frozen (SIGSTOP) while what it holds is counted:
        # counted first and killed after, it once finished its batch in between, on a busy machine.
        await wait_for(
            lambda: sum(e.acked for e in events) >= BURST // 3, timeout=SETTLE_TIMEOUT, interval=0.005
        )
        assert first.process is not None
        deadline = asyncio.get_running_loop().time() + SETTLE_TIMEOUT
        while True:
            first.process.send_signal(signal.SIGSTOP)
            held = await held_by(postgres_url, pid)
            if held or asyncio.get_running_loop().time() > deadline:
                first.kill()
                return sum(e.acked for e in events), held
            first.process.send_signal(signal.SIGCONT)
            await asyncio.sleep(0.01)

    # A load balancer alternates; conversations are spread over both hubs too.
    (acked_at_kill, left_behind), _ = await asyncio.gather(
        kill_and_count_what_it_held(),
        line_sender.send_all(events, lambda n: (first, second)[n % 2].url),
    )
    # The balancer now sends LINE's redeliveries to the hub that is left.
    await line_sender.redeliver(events, second.url)
    result = await settled_audit(postgres_url, fake_line, events)
    print(
        result.report("kill -9 of one of two hubs on PostgreSQL")
        + f" acked-at-kill={acked_at_kill} held-by-the-killed-hub={left_behind}"
    )

    assert not first.alive  # nobody restarted it: the other hub did its work
    assert left_behind > 0, "the kill must leave leased work behind for the takeover to matter"
    assert result.acked == BURST
    assert_nothing_lost(result)
    assert_duplicates_explained(result, in_flight_limit=WORKERS * 5)
