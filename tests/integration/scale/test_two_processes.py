"""Two real `govchat serve` processes on one PostgreSQL and Redis: no double work, and what
happens on one hub reaches the citizens and officers connected to the other.

The tests share the two hubs, each with web-chat sessions, conversations and cases of its own.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import func, select

from app.complaints import service as complaints
from app.conversations.models import Conversation, Message
from app.db.engine import create_engine, create_sessionmaker
from app.db.schema import utcnow
from app.webchat.service import find_conversation
from tests.conftest import HUB_VAR_DIR, wait_for
from tests.integration.processes import NEEDS_POSTGRES, HubProcess, StartHubs

pytestmark = [pytest.mark.redis, *NEEDS_POSTGRES]
REDIS_URL = "redis://127.0.0.1:6379/15"
ADMIN = {"username": "admin", "password": "admin-test-password"}


def two_process_environment(database_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "GOVCHAT_VAR_DIR": str(HUB_VAR_DIR),  # keeps the trained embedded engine between runs
        "GOVCHAT_SECRET_KEY": "two-process-test-secret-" + "y" * 24,
        "GOVCHAT_ADMIN_PASSWORD": "admin-test-password",
        "GOVCHAT_POLL_INTERVAL": "0.05",
        "GOVCHAT_LEASE_SECONDS": "5",
    }
    env.pop("RASA_URL", None)
    return env


@pytest.fixture(scope="module")
def two_hubs(module_postgres_url: str, module_hubs: StartHubs) -> tuple[HubProcess, HubProcess]:
    env = two_process_environment(module_postgres_url)
    (first,) = module_hubs(env, "first")  # the first one migrates; the second finds the schema in place
    (second,) = module_hubs(env, "second")
    return first, second


async def conversation_id_of(database_url: str, session_id: str) -> str:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            found = await find_conversation(session, session_id)
    finally:
        await engine.dispose()
    assert found is not None
    return found.id


async def test_messages_spread_over_two_hubs_are_each_answered_exactly_once(
    two_hubs: tuple[HubProcess, HubProcess], module_postgres_url: str
) -> None:
    hubs = two_hubs
    run = uuid.uuid4().hex[:8]  # this test's messages among the other tests' on the shared hubs
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
                    json={"text": text, "client_message_id": f"{run}-{n}-{k}"},
                    headers=headers,
                )
                assert response.status_code == 202
                posted += 1

    engine = create_engine(module_postgres_url)
    sessionmaker = create_sessionmaker(engine)

    async def replies_per_question() -> list[int] | None:
        async with sessionmaker() as session:
            inbound = (
                await session.scalars(
                    select(Message.id).where(
                        Message.direction == "in", Message.client_message_id.startswith(f"{run}-")
                    )
                )
            ).all()
            rows = (
                await session.execute(
                    select(Message.in_reply_to, func.count())
                    .where(Message.direction == "out", Message.in_reply_to.in_(inbound))
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


async def test_a_web_chat_push_reaches_a_websocket_on_the_other_hub(
    two_hubs: tuple[HubProcess, HubProcess],
) -> None:
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


async def _next_event(
    socket: websockets.ClientConnection, wanted: str, timeout: float = 20
) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        event = json.loads(
            await asyncio.wait_for(socket.recv(), timeout=max(0.1, deadline - time.monotonic()))
        )
        if event.get("type") == wanted:
            return dict(event)


async def test_an_officer_on_one_hub_sees_queue_and_messages_from_the_other(
    two_hubs: tuple[HubProcess, HubProcess], module_postgres_url: str
) -> None:
    officer_hub, citizen_hub = two_hubs
    async with httpx.AsyncClient(timeout=10) as http:
        login = await http.post(
            f"{officer_hub.url}/api/officer/login",
            json={"username": "admin", "password": "admin-test-password"},
        )
        token = login.json()["token"]
        async with websockets.connect(f"ws://127.0.0.1:{officer_hub.port}/api/officer/ws") as console:
            await console.send(json.dumps({"type": "auth", "token": token}))
            await _next_event(console, "ready")

            session = (await http.post(f"{citizen_hub.url}/api/webchat/sessions")).json()
            headers = {"Authorization": f"Bearer {session['token']}"}
            messages_url = f"{citizen_hub.url}/api/webchat/sessions/{session['session_id']}/messages"
            await http.post(
                messages_url, json={"text": "ขอคุยกับเจ้าหน้าที่ครับ", "client_message_id": "h"}, headers=headers
            )
            conversation_id = await conversation_id_of(module_postgres_url, session["session_id"])
            waiting: list[dict[str, Any]] = []
            changed_departments = set()
            while not waiting:  # as the console does: each change, a look at the queue
                changed_departments.add((await _next_event(console, "queue_changed"))["department"])
                queue = (
                    await http.get(
                        f"{officer_hub.url}/api/officer/queue", headers={"Authorization": f"Bearer {token}"}
                    )
                ).json()["conversations"]
                waiting = [c for c in queue if c["id"] == conversation_id]
            assert waiting[0]["department"] in changed_departments

            await console.send(json.dumps({"type": "watch", "conversation_ids": [conversation_id]}))
            assert (await _next_event(console, "watching"))["conversation_ids"] == [conversation_id]
            await http.post(
                messages_url, json={"text": "เลขที่คำขอ 12345 ค่ะ", "client_message_id": "m"}, headers=headers
            )
            event = await _next_event(console, "message")
    message = event["message"]
    assert isinstance(message, dict)
    assert event["conversation_id"] == conversation_id
    assert message["sender"] == "citizen" and "12345" in message["text"]


async def _file_complaint(database_url: str, session_id: str) -> str:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            found = await find_conversation(session, session_id)
            assert found is not None
            conversation = await session.get(Conversation, found.id)
            assert conversation is not None
            case = await session.run_sync(
                complaints.file_complaint, conversation, "รอเอกสารนานเกินไปค่ะ", "complaints", utcnow()
            )
            return case.number
    finally:
        await engine.dispose()


async def _next_message(socket: Any) -> dict[str, Any]:
    event = json.loads(await asyncio.wait_for(socket.recv(), 30))
    message: dict[str, Any] = event["message"]
    return message


async def test_a_complaint_changed_on_one_hub_is_seen_and_pushed_by_the_other(
    two_hubs: tuple[HubProcess, HubProcess], module_postgres_url: str
) -> None:
    first, second = two_hubs
    async with httpx.AsyncClient(timeout=10) as http:
        citizen = (await http.post(f"{first.url}/api/webchat/sessions")).json()
        number = await _file_complaint(module_postgres_url, citizen["session_id"])
        heads = {}
        for hub in (first, second):
            token = (await http.post(f"{hub.url}/api/officer/login", json=ADMIN)).json()["token"]
            heads[hub.url] = {"Authorization": f"Bearer {token}"}

        ws_url = first.url.replace("http://", "ws://")
        path = f"/api/webchat/sessions/{citizen['session_id']}/ws?token={citizen['token']}"
        async with websockets.connect(ws_url + path, open_timeout=10) as socket:
            changed = await http.post(
                f"{second.url}/api/officer/complaints/{number}/status",
                json={"status": "in_progress", "note": "กำลังตรวจสอบค่ะ"},
                headers=heads[second.url],
            )
            assert changed.status_code == 200, changed.text

            pushed = await _next_message(socket)  # through the first hub, published by the second
            assert number in pushed["text"] and "กำลังดำเนินการ" in pushed["text"]

            closed = await http.post(
                f"{first.url}/api/officer/complaints/{number}/status",
                json={"status": "closed", "note": "ส่งเอกสารแล้วค่ะ"},
                headers=heads[first.url],
            )
            assert closed.status_code == 200
            assert "ดำเนินการเสร็จสิ้น" in (await _next_message(socket))["text"]

        for hub in (first, second):
            listed = (await http.get(f"{hub.url}/api/officer/complaints", headers=heads[hub.url])).json()
            # the other tests file no complaints: this case is the only one either hub lists
            assert [(c["number"], c["status"]) for c in listed["complaints"]] == [(number, "closed")]
            detail = (
                await http.get(f"{hub.url}/api/officer/complaints/{number}", headers=heads[hub.url])
            ).json()
            assert [h["status"] for h in detail["history"]] == ["received", "in_progress", "closed"]
