"""SIGKILL one hub on the embedded SQLite database in the middle of a LINE burst, then restart it."""

from __future__ import annotations

import asyncio

import pytest

from tests.fakes.line.api import FakeLineApi
from tests.integration.processes import StartHubs
from tests.integration.reliability.audit import (
    assert_duplicates_explained,
    assert_nothing_lost,
    settled_audit,
    stored_without_ack,
)
from tests.integration.reliability.processes import LineSender, hub_environment, kill_after_acks

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # a migrated copy
BURST = 200
USERS = 60  # most citizens write several times, so conversations queue behind themselves
WORKERS = 4


async def test_every_acknowledged_event_is_answered_after_a_kill_and_a_restart(
    database_url: str,
    hubs: StartHubs,
    fake_line: FakeLineApi,
    line_sender: LineSender,
) -> None:
    env = hub_environment(database_url, fake_line, GOVCHAT_WORKERS=str(WORKERS))
    # LINE takes a moment to answer: sends are in flight when the kill comes, some of them
    # already accepted by LINE but not yet recorded by the hub (the window the retry key covers).
    fake_line.delay("reply", 0.1)
    fake_line.delay("push", 0.1)
    (hub,) = hubs(env, "before-kill")
    events = line_sender.burst(BURST, USERS)

    acked_at_kill, _ = await asyncio.gather(
        kill_after_acks(hub, events, BURST // 3), line_sender.send_all(events, lambda _n: hub.url)
    )
    acked_before_restart = sum(e.acked for e in events)
    assert 0 < acked_before_restart < BURST, "the kill must land in the middle of the burst"

    stored_unacked = await stored_without_ack(database_url, events)
    (restarted,) = hubs(env, "after-restart")
    await line_sender.redeliver(events, restarted.url)
    result = await settled_audit(database_url, fake_line, events)
    print(
        result.report("kill -9 on SQLite")
        + f" acked-at-kill={acked_at_kill} acked-before-restart={acked_before_restart}"
        f" redelivered={sum(len(e.statuses) > 1 for e in events)}"
        f" (already stored before the kill: {stored_unacked})"
    )

    assert result.acked == BURST  # after LINE's redeliveries every event got its 200
    assert_nothing_lost(result)
    assert_duplicates_explained(result, in_flight_limit=WORKERS * 5)
