"""Complaint status change -> the citizen's channel: from the officer's API call to the message there.

The hub runs as its own process (``govchat serve``, configured by environment as in production),
with LINE pointed at the loopback fake LINE API (``tests/fakes/line/api.py``, in this process).
Cases are filed straight into the database (the bot's filing is not what is measured). Then,
one change at a time, ``POST /api/officer/complaints/{number}/status`` and the clock runs until

- webchat: the citizen's web-chat WebSocket receives the update, and
- line:    the fake LINE API accepts the push carrying the case number (``X-Line-Retry-Key`` set).

Prints numbers; not a test.

    .venv/bin/python benchmarks/complaint_status_latency.py [--count 100]
        [--database-url postgresql+asyncpg://...] [--redis-url redis://127.0.0.1:6379/13]
        # default: a fresh SQLite file, in-process event bus
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import websockets

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from app.complaints import service as complaints  # noqa: E402
from app.conversations.chats import get_or_create_conversation_for  # noqa: E402
from app.db.engine import create_engine, create_sessionmaker  # noqa: E402
from app.db.schema import utcnow  # noqa: E402
from app.webchat.service import find_conversation  # noqa: E402
from benchmarks.harness import ADMIN_PASSWORD, HubProcess, latency_line  # noqa: E402
from tests.fakes.line.api import FakeLineApi  # noqa: E402

STATUSES = ("in_progress", "closed")
NOTE = "เจ้าหน้าที่ตรวจสอบแล้วค่ะ"


async def file_cases(database_url: str, conversations: list[tuple[str, str]]) -> list[str]:
    """One case per ``(channel, web-chat session id or LINE user id)``; their numbers, in order."""
    engine = create_engine(database_url)
    numbers = []
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            for channel, key in conversations:
                if channel == "webchat":
                    conversation = await find_conversation(session, key)
                    assert conversation is not None
                else:
                    conversation = await get_or_create_conversation_for(session, channel, key)
                case = await session.run_sync(
                    complaints.file_complaint, conversation, "เรื่องร้องเรียนทดสอบ", "complaints", utcnow()
                )
                numbers.append(case.number)
    finally:
        await engine.dispose()
    return numbers


async def measure(url: str, database_url: str, line: FakeLineApi, count: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {"webchat": [], "line": []}
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        login = await http.post("/api/officer/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        login.raise_for_status()
        officer = {"Authorization": f"Bearer {login.json()['token']}"}
        sessions = [(await http.post("/api/webchat/sessions")).json() for _ in range(count)]
        line_users = ["U" + uuid.uuid4().hex for _ in range(count)]
        numbers = await file_cases(
            database_url,
            [("webchat", s["session_id"]) for s in sessions] + [("line", u) for u in line_users],
        )
        web_numbers, line_numbers = numbers[:count], numbers[count:]

        async def change(number: str, n: int) -> None:
            response = await http.post(
                f"/api/officer/complaints/{number}/status",
                json={"status": STATUSES[n % 2], "note": NOTE},
                headers=officer,
            )
            response.raise_for_status()

        ws_base = url.replace("http://", "ws://")
        for n, (session, number) in enumerate(zip(sessions, web_numbers, strict=True)):
            path = f"/api/webchat/sessions/{session['session_id']}/ws?token={session['token']}"
            async with websockets.connect(ws_base + path) as ws:
                started = time.perf_counter()
                await change(number, n)
                while number not in json.loads(await asyncio.wait_for(ws.recv(), 30))["message"]["text"]:
                    pass
                timings["webchat"].append(time.perf_counter() - started)

        for n, (user, number) in enumerate(zip(line_users, line_numbers, strict=True)):
            started = time.time()  # the fake stamps acceptance with the wall clock
            await change(number, n)
            deadline = time.monotonic() + 30
            while not (pushed := line.deliveries(user)):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no LINE push for {number}")
                await asyncio.sleep(0.001)
            assert number in " ".join(pushed[0].texts()) and pushed[0].retry_key
            timings["line"].append(pushed[0].at - started)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="govchat-complaints-") as tmp, FakeLineApi() as line:
        database_url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'govchat.db'}"
        redis_url = args.redis_url or None
        with HubProcess(database_url=database_url, var_dir=Path(tmp), fake=line, redis_url=redis_url) as hub:
            url = hub.url
            asyncio.run(measure(url, database_url, line, 5))  # warm-up: first-use paths, connection pools
            timings = asyncio.run(measure(url, database_url, line, args.count))
    database = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    bus = "Redis" if args.redis_url else "in-process"
    print(
        f"complaint status change -> citizen, {args.count} changes per channel, {database}, {bus} bus, "
        f"os.cpu_count()={os.cpu_count()}"
    )
    print(latency_line("web chat (WebSocket)", timings["webchat"]))
    print(latency_line("LINE (push accepted)", timings["line"]))


if __name__ == "__main__":
    main()
