"""Messenger webhook latency: acknowledgement (signed POST -> 200) and event -> reply.

The hub runs as its own process (``govchat serve``, with its workers) talking to the fake Graph
API on loopback; each
event is the official ``fbmq_message_text`` body with its own sender, ``mid`` and a Thai
question, signed like Meta signs it. "Reply" is the moment the fake Graph API receives the
first Send API message for that citizen.

    .venv/bin/python benchmarks/facebook_webhook.py [--events 200] [--concurrency 10] [--postgres]

A fresh SQLite file by default; ``--postgres`` creates a throwaway database on the test server
(``GOVCHAT_TEST_POSTGRES``, as the tests do) and drops it afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402

from benchmarks.harness import HubProcess, percentile  # noqa: E402
from tests.conftest import fresh_postgres_database  # noqa: E402
from tests.fakes.facebook.graph_api import (  # noqa: E402
    PAGE_ACCESS_TOKEN,
    VERIFY_TOKEN,
    FakeGraphApi,
    MessengerFixtures,
    first_event,
)

QUESTIONS = (
    "จดทะเบียนบริษัทออนไลน์ได้ไหม",
    "ส่งงบการเงินออนไลน์ยังไง",
    "ขอหนังสือรับรองบริษัทออนไลน์",
    "จองชื่อบริษัทยังไงคะ",
    "สวัสดีครับ",
)


def report(name: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"{name:<16} n={len(ms):<5} p50={percentile(ms, 0.50):8.1f} ms  p95={percentile(ms, 0.95):8.1f} ms  "
        f"p99={percentile(ms, 0.99):8.1f} ms  max={max(ms):8.1f} ms  mean={statistics.fmean(ms):8.1f} ms"
    )


def event_body(fixtures: MessengerFixtures, n: int) -> tuple[str, bytes]:
    user = f"9{n:015d}"

    def personalise(data: dict[str, Any]) -> None:
        event = first_event(data)
        event["sender"]["id"] = user
        event["timestamp"] = int(time.time() * 1000)
        event["message"].update(mid=f"m_bench_{n}_{time.time_ns()}", text=QUESTIONS[n % len(QUESTIONS)])

    return user, fixtures.derived("fbmq_message_text", personalise)


def facebook_env(graph: FakeGraphApi, fixtures: MessengerFixtures) -> dict[str, str]:
    """The environment that points a hub's Messenger channel at the fake Graph API."""
    return {
        "FACEBOOK_APP_SECRET": fixtures.app_secret,
        "FACEBOOK_VERIFY_TOKEN": VERIFY_TOKEN,
        "FACEBOOK_PAGE_ACCESS_TOKEN": PAGE_ACCESS_TOKEN,
        "FACEBOOK_GRAPH_API_BASE_URL": graph.base_url,
    }


async def measure(
    url: str, graph: FakeGraphApi, fixtures: MessengerFixtures, events: int, concurrency: int
) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        for n in range(5):  # warm up: connections, first queries
            _user, body = event_body(fixtures, 10_000_000 + n)
            await client.post("/webhooks/facebook", content=body, headers=fixtures.headers(body))
        await asyncio.sleep(2.0)
        sent_at: dict[str, float] = {}
        acks: list[float] = []
        pending = list(range(events))

        async def sender() -> None:
            while pending:
                user, body = event_body(fixtures, pending.pop())
                headers = fixtures.headers(body)
                started = time.perf_counter()
                response = await client.post("/webhooks/facebook", content=body, headers=headers)
                acks.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text
                sent_at[user] = started

        began = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        posted = time.perf_counter() - began
        deadline = time.monotonic() + 180
        replies: dict[str, float] = {}
        while len(replies) < len(sent_at) and time.monotonic() < deadline:
            for recorded in graph.delivered():
                if recorded.recipient in sent_at and recorded.recipient not in replies:
                    replies[recorded.recipient] = recorded.received_at
            await asyncio.sleep(0.02)
        finished = time.perf_counter() - began
    print(f"events={events} concurrency={concurrency}")
    print(report("ack", acks))
    latencies = [replies[user] - sent_at[user] for user in replies]
    if latencies:
        print(report("event->reply", latencies))
    print(
        f"posted {events} events in {posted:.2f} s ({events / posted:.0f}/s); "
        f"{len(replies)}/{events} answered in {finished:.2f} s"
    )


async def run(events: int, concurrency: int, postgres: bool) -> None:
    fixtures = MessengerFixtures()
    graph = FakeGraphApi(app_secret=fixtures.app_secret).start()
    try:
        async with contextlib.AsyncExitStack() as stack:
            postgres_url = await stack.enter_async_context(fresh_postgres_database()) if postgres else None
            var_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="govchat-bench-")))
            database_url = postgres_url or f"sqlite+aiosqlite:///{var_dir / 'govchat.db'}"
            messenger = facebook_env(graph, fixtures)
            with HubProcess(database_url=database_url, var_dir=var_dir, extra_env=messenger) as hub:
                print(f"database={'postgresql' if postgres else 'sqlite'} load={os.getloadavg()[0]:.1f}")
                await measure(hub.url, graph, fixtures, events, concurrency)
    finally:
        graph.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL database")
    args = parser.parse_args()
    asyncio.run(run(args.events, args.concurrency, args.postgres))


if __name__ == "__main__":
    main()
