"""A process without workers (``GOVCHAT_WORKERS=0``) queues; a worker process answers at once.

Both processes poll every 30 s here, so only the wake-up through Redis can answer within
the tests' 10 s: without it, these tests fail.
"""

from __future__ import annotations

import asyncio
import re
import time

import httpx
import pytest
from pydantic import ValidationError

from app.settings import Settings
from tests.conftest import POSTGRES_AVAILABLE
from tests.integration.processes import HubProcess, StartHubs
from tests.integration.scale.test_two_processes import two_process_environment

pytestmark = pytest.mark.redis
ANSWER_WITHIN_S = 10.0
SLOW_POLL = {"GOVCHAT_POLL_INTERVAL": "30"}


@pytest.fixture
def web_and_worker(postgres_url: str, hubs: StartHubs) -> tuple[HubProcess, HubProcess]:
    env = {**two_process_environment(postgres_url), **SLOW_POLL}
    (worker,) = hubs(env, "worker")  # migrates the database
    (web,) = hubs({**env, "GOVCHAT_WORKERS": "0"}, "web")
    return web, worker


def _sent(metrics_text: str) -> float:
    return sum(
        float(v) for v in re.findall(r"^govchat_messages_out_total\{[^}]*\} (\S+)$", metrics_text, re.M)
    )


async def _new_messages(
    http: httpx.AsyncClient, url: str, headers: dict[str, str], after: str | None, wanted: str
) -> list[dict[str, object]]:
    """The messages after ``after``, once one from ``wanted`` is among them (else fail after 10 s)."""
    deadline = time.monotonic() + ANSWER_WITHIN_S
    while time.monotonic() < deadline:
        params = {"after": after} if after else {}
        messages = (await http.get(url, params=params, headers=headers)).json()["messages"]
        if any(m["sender"] == wanted for m in messages):
            return list(messages)
        await asyncio.sleep(0.1)
    pytest.fail(f"no {wanted} message within {ANSWER_WITHIN_S} s (the workers poll every 30 s)")


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_AVAILABLE, reason="PostgreSQL is not reachable on 127.0.0.1:5432")
async def test_a_worker_process_answers_what_a_process_without_workers_queued(
    web_and_worker: tuple[HubProcess, HubProcess],
) -> None:
    web, worker = web_and_worker
    async with httpx.AsyncClient(timeout=10) as http:
        session = (await http.post(f"{web.url}/api/webchat/sessions")).json()
        headers = {"Authorization": f"Bearer {session['token']}"}
        url = f"{web.url}/api/webchat/sessions/{session['session_id']}/messages"
        last: str | None = None
        # One after another: each needs its own wake-up, long after the workers' first claim.
        for n, text in enumerate(["สวัสดีครับ", "จดทะเบียนบริษัทออนไลน์ได้ไหม", "ขอบคุณค่ะ"]):
            posted = await http.post(url, json={"text": text, "client_message_id": str(n)}, headers=headers)
            assert posted.status_code == 202
            messages = await _new_messages(http, url, headers, last, "bot")
            last = str(messages[-1]["id"])

        # An officer's reply through the process without workers is delivered by the worker too.
        await http.post(url, json={"text": "ขอคุยกับเจ้าหน้าที่ครับ", "client_message_id": "h"}, headers=headers)
        token = (
            await http.post(
                f"{web.url}/api/officer/login", json={"username": "admin", "password": "admin-test-password"}
            )
        ).json()["token"]
        officer = {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + ANSWER_WITHIN_S
        queue: list[dict[str, object]] = []
        while not queue and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            queue = (await http.get(f"{web.url}/api/officer/queue", headers=officer)).json()["conversations"]
        assert queue, "the request for an officer was not handled"
        conversation = f"{web.url}/api/officer/conversations/{queue[0]['id']}"
        assert (await http.post(f"{conversation}/claim", headers=officer)).status_code == 200
        replied = await http.post(f"{conversation}/messages", json={"text": "สวัสดีค่ะ"}, headers=officer)
        assert replied.status_code == 202
        messages = await _new_messages(http, url, headers, last, "officer")
        assert [m["text"] for m in messages if m["sender"] == "officer"] == ["สวัสดีค่ะ"]

        # The transcript lists messages as they are stored; the counters count them once sent.
        transcript = (await http.get(url, headers=headers)).json()["messages"]
        outbound = sum(m["direction"] == "out" for m in transcript)
        assert outbound >= 5  # three answers, the hand-over notice, the officer's claim and reply
        deadline = time.monotonic() + ANSWER_WITHIN_S
        while (sent_by_worker := _sent((await http.get(f"{worker.url}/metrics")).text)) < outbound:
            assert time.monotonic() < deadline, f"{sent_by_worker} of {outbound} sent"
            await asyncio.sleep(0.1)
        sent_by_web = _sent((await http.get(f"{web.url}/metrics")).text)
    assert (sent_by_web, sent_by_worker) == (0, outbound)


@pytest.mark.parametrize(
    "environment",
    [{}, {"DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1/test"}, {"REDIS_URL": "redis://x"}],
    ids=["sqlite", "no-redis", "sqlite-with-redis"],
)
def test_a_process_without_workers_needs_postgres_and_redis(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {**environment, "GOVCHAT_WORKERS": "0"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(
        ValidationError, match="GOVCHAT_WORKERS=0 needs DATABASE_URL on PostgreSQL and REDIS_URL"
    ):
        Settings(_env_file=None)
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1/test")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/15")
    assert Settings(_env_file=None).workers == 0
