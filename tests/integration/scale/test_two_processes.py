"""Two real `govchat serve` processes on one PostgreSQL (and Redis): no double work."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from sqlalchemy import func, select

from app.conversations.models import Message
from app.db import create_engine, create_sessionmaker
from tests.conftest import POSTGRES_AVAILABLE, REPO_ROOT, free_port, fresh_postgres_database, wait_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_AVAILABLE, reason="PostgreSQL is not reachable on 127.0.0.1:5432"),
]
REDIS_URL = "redis://127.0.0.1:6379/15"


class Hub:
    def __init__(self, database_url: str, var_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": REDIS_URL,
            "GOVCHAT_VAR_DIR": str(var_dir),
            "GOVCHAT_SECRET_KEY": "two-process-test-secret-" + "y" * 24,
            "GOVCHAT_ADMIN_PASSWORD": "admin-test-password",
            "GOVCHAT_POLL_INTERVAL": "0.05",
            "GOVCHAT_LEASE_SECONDS": "5",
        }
        env.pop("RASA_URL", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"hub exited: {self.process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("hub did not become ready")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async with fresh_postgres_database(migrated=False) as url:  # the hubs migrate it themselves
        yield url


@pytest.fixture
def two_hubs(postgres_url: str, tmp_path: Path) -> Iterator[tuple[Hub, Hub]]:
    shared_var = REPO_ROOT / "var" / "test-hubs"  # keeps the trained embedded engine between runs
    first = Hub(postgres_url, shared_var)
    first.wait_ready()  # the first one migrates; the second finds the schema in place
    second = Hub(postgres_url, shared_var)
    try:
        second.wait_ready()
        yield first, second
    finally:
        first.stop()
        second.stop()


async def test_messages_spread_over_two_hubs_are_each_answered_exactly_once(
    two_hubs: tuple[Hub, Hub], postgres_url: str
) -> None:
    hubs = two_hubs
    texts = ["สวัสดีครับ", "ขอบคุณค่ะ", "จดทะเบียนบริษัทออนไลน์ได้ไหม", "ยื่นงบการเงินออนไลน์ยังไง"]
    posted = 0
    async with httpx.AsyncClient(timeout=10) as http:
        for n in range(12):
            hub = hubs[n % 2]
            session = (await http.post(f"{hub.url}/api/webchat/sessions")).json()
            headers = {"Authorization": f"Bearer {session['token']}"}
            for k, text in enumerate(texts):
                # Alternate hubs within one conversation too: order must still hold.
                target = hubs[(n + k) % 2]
                response = await http.post(
                    f"{target.url}/api/webchat/sessions/{session['session_id']}/messages",
                    json={"text": text, "client_message_id": f"{n}-{k}"},
                    headers=headers,
                )
                assert response.status_code == 202
                posted += 1

    engine = create_engine(postgres_url)
    sessionmaker = create_sessionmaker(engine)

    async def replies_per_question() -> list[int] | None:
        async with sessionmaker() as session:
            inbound = (await session.scalars(select(Message.id).where(Message.direction == "in"))).all()
            rows = (
                await session.execute(
                    select(Message.in_reply_to, func.count())
                    .where(Message.direction == "out")
                    .group_by(Message.in_reply_to)
                )
            ).all()
        counts = {reply_to: count for reply_to, count in rows}
        if len(inbound) < posted or any(i not in counts for i in inbound):
            return None
        return [counts[i] for i in inbound]

    try:
        counts = await wait_for(replies_per_question, timeout=60, interval=0.2)
        await asyncio.sleep(1.0)  # let any (wrong) second answer land before counting
        counts = await replies_per_question() or counts
        # Every question here gets exactly one bot message; a double-processed one would get two.
        assert counts == [1] * posted
    finally:
        await engine.dispose()


async def test_a_web_chat_push_reaches_a_websocket_on_the_other_hub(two_hubs: tuple[Hub, Hub]) -> None:
    first, second = two_hubs
    async with httpx.AsyncClient(timeout=10) as http:
        session = (await http.post(f"{first.url}/api/webchat/sessions")).json()
        ws_url = f"ws://127.0.0.1:{first.port}/api/webchat/sessions/{session['session_id']}/ws?token={session['token']}"
        async with websockets.connect(ws_url) as socket:
            await asyncio.sleep(0.3)  # subscribed through Redis
            await http.post(
                f"{second.url}/api/webchat/sessions/{session['session_id']}/messages",
                json={"text": "สวัสดีครับ", "client_message_id": "x"},
                headers={"Authorization": f"Bearer {session['token']}"},
            )
            senders = set()
            deadline = time.monotonic() + 20
            while "bot" not in senders and time.monotonic() < deadline:
                event = json.loads(await asyncio.wait_for(socket.recv(), timeout=20))
                assert event["type"] == "message"
                senders.add(event["message"]["sender"])
    assert senders == {"citizen", "bot"}
