"""Two real hub processes on one PostgreSQL and Redis see the same complaint cases and updates."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets

from app.complaints import service as complaints
from app.conversations.models import Conversation
from app.db.engine import create_engine, create_sessionmaker
from app.db.schema import utcnow
from app.webchat.service import find_conversation
from tests.integration.processes import NEEDS_POSTGRES, HubProcess, StartHubs
from tests.integration.scale.test_two_processes import two_process_environment

pytestmark = NEEDS_POSTGRES
ADMIN = {"username": "admin", "password": "admin-test-password"}


@pytest.fixture
def two_hubs(postgres_url: str, hubs: StartHubs) -> tuple[HubProcess, HubProcess]:
    env = two_process_environment(postgres_url)
    (first,) = hubs(env, "first")
    (second,) = hubs(env, "second")
    return first, second


async def _file(postgres_url: str, session_id: str) -> str:
    engine = create_engine(postgres_url)
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


async def test_a_change_on_one_hub_is_seen_and_pushed_by_the_other(
    two_hubs: tuple[HubProcess, HubProcess], postgres_url: str
) -> None:
    first, second = two_hubs
    async with httpx.AsyncClient(timeout=10) as http:
        citizen = (await http.post(f"{first.url}/api/webchat/sessions")).json()
        number = await _file(postgres_url, citizen["session_id"])
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
            assert [(c["number"], c["status"]) for c in listed["complaints"]] == [(number, "closed")]
            detail = (
                await http.get(f"{hub.url}/api/officer/complaints/{number}", headers=heads[hub.url])
            ).json()
            assert [h["status"] for h in detail["history"]] == ["received", "in_progress", "closed"]
