"""The hub processes' environment, and a sender that posts LINE webhooks the way LINE does.

``hub_environment`` configures a ``HubProcess`` (``tests/integration/processes.py``) as an
operator would, so that it can be killed with SIGKILL. ``LineSender`` posts signed webhooks
one event per request, many at once, remembers which got a 200 and redelivers the others
with the same ``webhookEventId``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.conftest import ADMIN_PASSWORD, HUB_VAR_DIR, wait_for
from tests.fakes.line.api import FakeLineApi
from tests.fakes.line.fixtures import TEST_SECRET, LineFixtures
from tests.integration.line.conftest import TEXT_EVENT
from tests.integration.processes import HubProcess

# Questions each answered by exactly one bot message, however often a citizen repeats them.
QUESTIONS = ("สวัสดีครับ", "ขอบคุณค่ะ", "จดทะเบียนบริษัทออนไลน์ได้ไหม", "ยื่นงบการเงินออนไลน์ยังไง")
SETTLE_TIMEOUT = 120.0


def hub_environment(database_url: str, fake: FakeLineApi, **overrides: str) -> dict[str, str]:
    """What an operator would export: the database, LINE pointed at the fake, nothing else special."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GOVCHAT_", "LINE_", "FACEBOOK_")) and key not in ("RASA_URL", "REDIS_URL")
    }
    env.update(
        DATABASE_URL=database_url,
        GOVCHAT_VAR_DIR=str(HUB_VAR_DIR),
        GOVCHAT_SECRET_KEY="reliability-test-secret-" + "z" * 24,
        GOVCHAT_ADMIN_PASSWORD=ADMIN_PASSWORD,
        LINE_CHANNEL_SECRET=TEST_SECRET,
        LINE_CHANNEL_ACCESS_TOKEN=fake.access_token,
        LINE_API_BASE_URL=fake.url,
        LINE_DATA_API_BASE_URL=fake.data_url,
    )
    env.update(overrides)
    return env


@dataclass
class SentEvent:
    """One LINE text event and what the hub answered each time it was posted."""

    user_id: str
    text: str
    event: dict[str, Any]
    statuses: list[int | None] = field(default_factory=list)  # None: no HTTP answer at all

    @property
    def event_id(self) -> str:
        return str(self.event["webhookEventId"])

    @property
    def message_id(self) -> str:
        return str(self.event["message"]["id"])

    @property
    def acked(self) -> bool:
        return 200 in self.statuses


class LineSender:
    """Posts events as LINE does: one per request, concurrently; redelivers what got no 200."""

    def __init__(self, fixtures: LineFixtures, fake: FakeLineApi, concurrency: int = 16) -> None:
        self.fixtures = fixtures
        self.fake = fake
        self.concurrency = concurrency
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0))

    def burst(self, count: int, users: int, prefix: str = "U") -> list[SentEvent]:
        """``count`` text events from ``users`` citizens: some write once, most several times."""
        events = []
        for n in range(count):
            user_id = f"{prefix}{(n * 7) % users:031x}"  # LINE user ids: U + 32 hex digits
            text = QUESTIONS[n % len(QUESTIONS)]
            event = self.fixtures.fresh(self.fixtures.event(TEXT_EVENT), user_id=user_id)
            event["message"]["text"] = text
            event["replyToken"] = self.fake.issue_reply_token(user_id)
            events.append(SentEvent(user_id, text, event))
        return events

    async def post(self, url: str, sent: SentEvent) -> int | None:
        event = sent.event
        if sent.statuses:  # LINE marks a redelivery and keeps the event id
            event = {**event, "deliveryContext": {"isRedelivery": True}}
        body, headers = self.fixtures.signed(self.fixtures.envelope(event))
        try:
            response = await self.http.post(f"{url}/webhooks/line", content=body, headers=headers)
            status: int | None = response.status_code
        except httpx.HTTPError:
            status = None
        sent.statuses.append(status)
        return status

    async def send_all(
        self, events: Sequence[SentEvent], url_of: Callable[[int], str], pace: float = 0.0
    ) -> None:
        """Post every event once (``url_of(n)`` picks the hub, as a load balancer would)."""
        gate = asyncio.Semaphore(self.concurrency)

        async def one(n: int, sent: SentEvent) -> None:
            async with gate:
                await self.post(url_of(n), sent)
                if pace:
                    await asyncio.sleep(pace)

        await asyncio.gather(*(one(n, sent) for n, sent in enumerate(events)))

    async def redeliver(self, events: Sequence[SentEvent], url: str, rounds: int = 20) -> None:
        """LINE redelivers an event until it gets a 2xx; so do we (with a pause between rounds)."""
        for _ in range(rounds):
            waiting = [e for e in events if not e.acked]
            if not waiting:
                return
            await asyncio.gather(*(self.post(url, e) for e in waiting))
            await asyncio.sleep(0.5)
        raise AssertionError(f"{sum(not e.acked for e in events)} events never got a 200")

    async def aclose(self) -> None:
        await self.http.aclose()


async def kill_after_acks(hub: HubProcess, events: Sequence[SentEvent], acks: int) -> int:
    """SIGKILL ``hub`` once ``acks`` events got a 200; returns how many had one at that moment."""
    await wait_for(lambda: sum(e.acked for e in events) >= acks, timeout=SETTLE_TIMEOUT, interval=0.005)
    hub.kill()
    return sum(e.acked for e in events)
