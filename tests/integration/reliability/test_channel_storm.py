"""LINE answers 429 and 500 to everything for a while: back-off, then delivery or a visible failure.

``tests/integration/line/test_line_delivery.py`` covers a few scripted errors for one message
(500, 500, 200; one 429 with Retry-After; endless 500 ending in ``failed``). Here every call
fails for a period, whatever the number of calls, for several citizens at once.
"""

from __future__ import annotations

import asyncio
import itertools
import math
from typing import Any

import pytest

from app.conversations.models import DeliveryStatus, Message
from tests.conftest import ADMIN_PASSWORD, wait_for
from tests.fakes.line.api import FakeLineApi, Recorded, Scripted
from tests.integration.line.conftest import LineHub

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

QUESTION = "จดทะเบียนบริษัทออนไลน์ได้ไหม"
BASE_BACKOFF = 0.2
STORM = (
    Scripted(429, {"message": "Too Many Requests"}),
    Scripted(500, {"message": "An error occurred in the server"}),
    Scripted(429, {"message": "Too Many Requests"}, {"Retry-After": "1"}),
)


@pytest.fixture
def line_overrides() -> dict[str, Any]:
    return {"GOVCHAT_DELIVERY_BASE_BACKOFF": BASE_BACKOFF}


def attempts_for(fake: FakeLineApi, user_id: str, tokens: dict[str, str]) -> list[Recorded]:
    """Every reply or push call made for ``user_id``'s chat, in order."""
    calls = []
    for request in fake.requests():
        body = request.json if isinstance(request.json, dict) else {}
        chat = body.get("to") if request.endpoint == "push" else tokens.get(str(body.get("replyToken")))
        if request.endpoint in ("push", "reply") and chat == user_id:
            calls.append(request)
    return sorted(calls, key=lambda r: r.at)


def shortest_wait_after(attempt: int, answer: Recorded) -> float:
    """What the hub must wait at least after its ``attempt``-th failed call got ``answer``."""
    retry_after = answer.answer_headers.get("retry-after")
    if retry_after is not None:
        return float(retry_after)
    return BASE_BACKOFF * 2 ** (attempt - 1) / 2  # exponential back-off, full jitter in [c/2, c]


async def ask(line: LineHub, users: list[str], tokens: dict[str, str]) -> None:
    for n, user_id in enumerate(users):
        if n % 2:
            event = line.text(user_id, QUESTION, fresh_token=False, age_seconds=120)  # pushed
        else:
            event = line.text(user_id, QUESTION)  # replied while the token is fresh
            tokens[event["replyToken"]] = user_id
        assert (await line.post(event)).status_code == 200


async def answers_of(line: LineHub, user_id: str) -> list[Message]:
    return [m for m in await line.messages(user_id) if m.direction == "out"]


async def all_final(line: LineHub, users: list[str]) -> bool:
    for user_id in users:
        rows = await answers_of(line, user_id)
        if not rows or any(m.delivery_status == DeliveryStatus.PENDING for m in rows):
            return False
    return True


class TestStormThatEnds:
    STORM_SECONDS = 4.0

    async def test_every_answer_arrives_once_after_calls_spaced_by_a_growing_back_off(
        self, line: LineHub
    ) -> None:
        users = [f"Ustorm{n}" for n in range(6)]
        tokens: dict[str, str] = {}
        line.fake.storm("reply", self.STORM_SECONDS, *STORM)
        line.fake.storm("push", self.STORM_SECONDS, *STORM)
        await ask(line, users, tokens)
        await wait_for(lambda: all_final(line, users), timeout=60, interval=0.2)

        # Enough calls to outlast the storm, and not a tight loop: the waits alone add up to it.
        most = 2 + math.ceil(math.log2(self.STORM_SECONDS / BASE_BACKOFF * 4)) + 3
        for user_id in users:
            (answer,) = await answers_of(line, user_id)
            assert answer.delivery_status == DeliveryStatus.SENT
            assert len(line.fake.deliveries(user_id)) == 1
            calls = attempts_for(line.fake, user_id, tokens)
            failed, last = calls[:-1], calls[-1]
            assert last.status == 200 and all(c.status in (429, 500) for c in failed)
            assert 1 <= len(failed) <= most, (
                f"{user_id}: {len(failed)} failed calls in a {self.STORM_SECONDS} s storm"
            )
            for attempt, (call, following) in enumerate(itertools.pairwise(calls), start=1):
                waited = following.at - call.at
                assert waited >= shortest_wait_after(attempt, call) - 0.02, (
                    f"{user_id}: call {attempt + 1} came {waited:.2f} s after a {call.status}"
                )
            assert answer.delivery_attempts == len(calls)
            gaps = [round(b.at - a.at, 2) for a, b in itertools.pairwise(calls)]
            print(f"\n[storm {self.STORM_SECONDS} s] {user_id}: {len(failed)} failed calls, waits {gaps}")
        retries = (await line.client.get("/metrics")).text
        assert 'govchat_delivery_retries_total{channel="line"}' in retries


class TestStormLongerThanTheDeliveryBudget:
    @pytest.fixture
    def line_overrides(self) -> dict[str, Any]:
        return {"GOVCHAT_DELIVERY_BASE_BACKOFF": BASE_BACKOFF, "GOVCHAT_DELIVERY_MAX_SECONDS": 2.0}

    async def test_the_answer_fails_visibly_to_officers_and_in_the_metrics(self, line: LineHub) -> None:
        users = ["Ulong0", "Ulong1"]
        tokens: dict[str, str] = {}
        line.fake.storm("reply", 30, *STORM[:2])
        line.fake.storm("push", 30, *STORM[:2])
        await ask(line, users, tokens)
        await wait_for(lambda: all_final(line, users), timeout=30, interval=0.2)

        for user_id in users:
            (answer,) = await answers_of(line, user_id)
            assert answer.delivery_status == DeliveryStatus.FAILED
            assert answer.delivery_error is not None and "LINE API" in answer.delivery_error
            assert line.fake.deliveries(user_id) == []
        calls_when_failed = {u: len(attempts_for(line.fake, u, tokens)) for u in users}
        metrics = (await line.client.get("/metrics")).text
        assert 'govchat_delivery_failures_total{channel="line",reason="gave_up"} 2.0' in metrics

        login = await line.client.post(
            "/api/officer/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        for user_id in users:
            conversation = await line.conversation(user_id)
            assert conversation is not None
            transcript = (
                await line.client.get(f"/api/officer/conversations/{conversation.id}", headers=headers)
            ).json()
            assert [m["delivery_status"] for m in transcript["messages"] if m["direction"] == "out"] == [
                "failed"
            ]
        # Given up means given up: no call follows a failure.
        await asyncio.sleep(1.0)
        assert {u: len(attempts_for(line.fake, u, tokens)) for u in users} == calls_when_failed

    async def test_a_retry_after_beyond_the_budget_fails_the_answer_at_once(self, line: LineHub) -> None:
        line.fake.storm("push", 60, Scripted(429, {"message": "Too Many Requests"}, {"Retry-After": "20"}))
        await line.post(line.text("Uwait", QUESTION, fresh_token=False, age_seconds=120))
        await wait_for(lambda: line.fake.requests("push"), timeout=20)

        async def failed() -> bool:
            rows = await answers_of(line, "Uwait")
            return bool(rows) and rows[0].delivery_status == DeliveryStatus.FAILED

        # The budget is 2 s; the answer must not sit "pending" for LINE's 20 s.
        await wait_for(failed, timeout=6, interval=0.2)
