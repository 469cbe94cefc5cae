"""The console's WebSocket on a live hub: escalations and citizen messages arrive at once,
also when the officer is connected to another hub process (Redis bus).

On SQLite; two hubs sharing one database (``TestAcrossHubProcesses``) on PostgreSQL too.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from app.settings import Settings
from tests.conftest import ADMIN_PASSWORD, LiveServer, make_settings

pytestmark = pytest.mark.redis
REDIS_URL = "redis://127.0.0.1:6379/14"
EVENT_TIMEOUT = 15.0


@pytest.fixture
def hub_database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url  # what a socket is sent: the hub's rules


async def _officer_token(base_url: str) -> str:
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post(
            "/api/officer/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        assert response.status_code == 200
        token: str = response.json()["token"]
        return token


async def _next(ws: ClientConnection, matches: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    async def scan() -> dict[str, Any]:
        while True:
            event: dict[str, Any] = json.loads(await ws.recv())
            if matches(event):
                return event

    return await asyncio.wait_for(scan(), EVENT_TIMEOUT)


def _ws_url(hub: LiveServer) -> str:
    return hub.url.replace("http://", "ws://") + "/api/officer/ws"


class WebCitizen:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.session_id = ""
        self.headers: dict[str, str] = {}

    async def start(self) -> WebCitizen:
        body = (await self.http.post("/api/webchat/sessions")).json()
        self.session_id, self.headers = body["session_id"], {"Authorization": f"Bearer {body['token']}"}
        return self

    async def say(self, text: str) -> None:
        response = await self.http.post(
            f"/api/webchat/sessions/{self.session_id}/messages",
            json={"text": text, "client_message_id": uuid.uuid4().hex},
            headers=self.headers,
        )
        assert response.status_code == 202


@pytest.fixture
async def console(live_server: LiveServer) -> AsyncIterator[ClientConnection]:
    token = await _officer_token(live_server.url)
    async with websockets.connect(_ws_url(live_server)) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        ready = await _next(ws, lambda e: e["type"] == "ready")
        assert "general" in ready["departments"]
        yield ws


class TestConsoleSocket:
    async def test_an_escalation_and_the_citizens_next_messages_arrive_at_once(
        self, live_server: LiveServer, console: ClientConnection
    ) -> None:
        async with httpx.AsyncClient(base_url=live_server.url) as http:
            citizen = await WebCitizen(http).start()
            await citizen.say("ขอคุยกับเจ้าหน้าที่")
            await _next(console, lambda e: e["type"] == "queue_changed" and e["department"] == "general")
            token = await _officer_token(live_server.url)
            headers = {"Authorization": f"Bearer {token}"}
            queue = (await http.get("/api/officer/queue", headers=headers)).json()["conversations"]
            conversation_id = queue[0]["id"]

            await console.send(json.dumps({"type": "watch", "conversation_ids": [conversation_id]}))
            watching = await _next(console, lambda e: e["type"] == "watching")
            assert watching["conversation_ids"] == [conversation_id]
            await citizen.say("เอกสารที่ต้องใช้มีอะไรบ้างคะ")

            event = await _next(
                console, lambda e: e["type"] == "message" and e["message"]["sender"] == "citizen"
            )
            assert event["conversation_id"] == conversation_id
            assert event["message"]["text"] == "เอกสารที่ต้องใช้มีอะไรบ้างคะ"

            note = await http.post(
                f"/api/officer/conversations/{conversation_id}/notes",
                json={"text": "โน้ตภายใน"},
                headers=headers,
            )
            assert note.status_code == 201
            heard = await _next(console, lambda e: e["type"] == "note")
            assert heard["note"]["text"] == "โน้ตภายใน"

    async def test_a_conversation_of_another_department_cannot_be_watched(
        self, live_server: LiveServer, console: ClientConnection
    ) -> None:
        await console.send(json.dumps({"type": "watch", "conversation_ids": ["not-a-conversation"]}))
        watching = await _next(console, lambda e: e["type"] == "watching")
        assert watching["conversation_ids"] == []

    async def test_a_bad_token_is_refused(self, live_server: LiveServer) -> None:
        async with websockets.connect(_ws_url(live_server)) as ws:
            await ws.send(json.dumps({"type": "auth", "token": "forged"}))
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401

    async def test_no_token_is_refused(self, live_server: LiveServer) -> None:
        async with websockets.connect(_ws_url(live_server)) as ws:
            await ws.send(json.dumps({"type": "watch", "conversation_ids": []}))
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


@pytest.fixture
def two_hubs(database_url: str, tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    def settings(name: str) -> Settings:
        var_dir = tmp_path / name
        var_dir.mkdir()
        return make_settings(database_url, var_dir, redis_url=REDIS_URL)

    with LiveServer(settings("a")) as first, LiveServer(settings("b")) as second:
        yield first, second


class TestAcrossHubProcesses:
    async def test_an_officer_on_one_hub_sees_an_escalation_made_on_another(
        self, two_hubs: tuple[LiveServer, LiveServer]
    ) -> None:
        officer_hub, citizen_hub = two_hubs
        token = await _officer_token(officer_hub.url)
        async with (
            websockets.connect(_ws_url(officer_hub)) as ws,
            httpx.AsyncClient(base_url=citizen_hub.url) as http,
        ):
            await ws.send(json.dumps({"type": "auth", "token": token}))
            await _next(ws, lambda e: e["type"] == "ready")
            citizen = await WebCitizen(http).start()
            await citizen.say("ขอคุยกับเจ้าหน้าที่")
            event = await _next(ws, lambda e: e["type"] == "queue_changed")
            assert event["department"] == "general"
