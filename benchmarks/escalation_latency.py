"""Escalation -> console latency: from a citizen's "talk to an officer" to the officer's console.

The hub runs as its own process (``govchat serve``, configured by environment as in
production). One officer console is connected to ``WS /api/officer/ws``. Then, one citizen
at a time, a new web-chat session posts "ขอคุยกับเจ้าหน้าที่" and the clock runs until

- event:   the console's WebSocket receives ``queue_changed`` for the department, and
- visible: the console's ``GET /api/officer/queue`` (what it does on that event) lists the
           conversation -- the moment the console can draw the new row.

Each conversation is resolved afterwards (untimed) so the queue stays short. Prints numbers;
not a test.

    .venv/bin/python benchmarks/escalation_latency.py [--count 100]
        [--database-url postgresql+asyncpg://...] [--redis-url redis://127.0.0.1:6379/13]
        # default: a fresh SQLite file, in-process event bus
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import websockets

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.harness import ADMIN_PASSWORD, HubProcess, latency_line  # noqa: E402

ASK_FOR_A_PERSON = "ขอคุยกับเจ้าหน้าที่"


async def next_queue_change(ws: Any, department: str) -> None:
    while True:
        event = json.loads(await ws.recv())
        if event.get("type") == "queue_changed" and event.get("department") == department:
            return


async def drain(ws: Any, quiet_seconds: float = 0.3) -> None:
    """Read events until none came for ``quiet_seconds``."""
    with contextlib.suppress(TimeoutError):
        while True:
            await asyncio.wait_for(ws.recv(), quiet_seconds)


async def measure(url: str, count: int) -> tuple[list[float], list[float]]:
    events: list[float] = []
    visible: list[float] = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        login = await http.post("/api/officer/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        login.raise_for_status()
        token = login.json()["token"]
        officer = {"Authorization": f"Bearer {token}"}
        async with websockets.connect(url.replace("http://", "ws://") + "/api/officer/ws") as ws:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            while json.loads(await ws.recv()).get("type") != "ready":
                pass
            for _ in range(count):
                session = (await http.post("/api/webchat/sessions")).json()
                citizen = {"Authorization": f"Bearer {session['token']}"}
                started = time.perf_counter()
                posted = await http.post(
                    f"/api/webchat/sessions/{session['session_id']}/messages",
                    json={"text": ASK_FOR_A_PERSON, "client_message_id": uuid.uuid4().hex},
                    headers=citizen,
                )
                posted.raise_for_status()
                conversation_id = await queue_entry(http, officer, ws, started, events, visible)
                await http.post(f"/api/officer/conversations/{conversation_id}/resolve", headers=officer)
                await drain(ws)  # the resolve's own event must not be taken for the next escalation's
    return events, visible


async def queue_entry(
    http: httpx.AsyncClient,
    officer: dict[str, str],
    ws: Any,
    started: float,
    events: list[float],
    visible: list[float],
) -> str:
    """Wait as the console does: an event, then the queue; returns the new conversation's id."""
    await asyncio.wait_for(next_queue_change(ws, "general"), 30)
    events.append(time.perf_counter() - started)
    queue = (await http.get("/api/officer/queue", headers=officer)).json()["conversations"]
    if len(queue) != 1:
        raise RuntimeError(f"expected the new escalation alone in the queue, got {len(queue)}")
    visible.append(time.perf_counter() - started)
    conversation_id: str = queue[0]["id"]
    return conversation_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="govchat-escalation-") as tmp:
        database_url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'govchat.db'}"
        with HubProcess(
            database_url=database_url, var_dir=Path(tmp), redis_url=args.redis_url or None
        ) as hub:
            url = hub.url
            asyncio.run(measure(url, 5))  # warm-up: first-use paths, connection pools
            events, visible = asyncio.run(measure(url, args.count))
    database = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    bus = "Redis" if args.redis_url else "in-process"
    print(
        f"escalation -> console, {args.count} escalations, {database}, {bus} bus, os.cpu_count()={os.cpu_count()}"
    )
    print(latency_line("queue_changed on the console", events))
    print(latency_line("listed by GET /queue", visible))


if __name__ == "__main__":
    main()
