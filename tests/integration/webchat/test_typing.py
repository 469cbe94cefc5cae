"""Typing indicators over the web-chat WebSocket: only when the bot or an officer really composes (issue 23)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from app.db.transactions import SessionTransactions
from app.officers import admin
from app.officers.models import Role
from app.settings import Settings
from nlu.client import NluClient, Prediction
from tests.conftest import ADMIN_PASSWORD, LiveServer, make_settings, wait_for

QUESTION = "จดทะเบียนบริษัทออนไลน์ได้ไหม"


@pytest.fixture
def settings(sqlite_url: str, tmp_path: Path) -> Settings:
    return make_settings(sqlite_url, tmp_path, GOVCHAT_PROCESSING_HINT_SECONDS=0.05)


class SlowNlu:
    """The hub's NLU, answering after a pause (as a remote Rasa server under load does)."""

    def __init__(self, inner: NluClient) -> None:
        self.inner = inner
        self.name = inner.name

    async def parse(self, text: str) -> Prediction:
        await asyncio.sleep(0.3)
        return await self.inner.parse(text)

    async def is_ready(self) -> bool:
        return await self.inner.is_ready()

    async def aclose(self) -> None:
        await self.inner.aclose()


async def events_until(socket: ClientConnection, predicate: Any, timeout: float = 30) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while not seen or not predicate(seen[-1]):
            seen.append(json.loads(await socket.recv()))
    return seen


async def chat_with_socket(
    server: LiveServer, http: httpx.AsyncClient
) -> tuple[dict[str, str], ClientConnection]:
    chat = (await http.post("/api/webchat/sessions")).json()
    url = f"ws://127.0.0.1:{server.port}/api/webchat/sessions/{chat['session_id']}/ws?token={chat['token']}"
    return chat, await connect(url, open_timeout=10)


async def say(http: httpx.AsyncClient, chat: dict[str, str], text: str, cid: str) -> None:
    response = await http.post(
        f"/api/webchat/sessions/{chat['session_id']}/messages",
        json={"text": text, "client_message_id": cid},
        headers={"Authorization": f"Bearer {chat['token']}"},
    )
    assert response.status_code == 202


async def login(http: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    response = await http.post("/api/officer/login", json={"username": username, "password": password})
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def waiting_conversation(http: httpx.AsyncClient, officer: dict[str, str]) -> str:
    async def queued() -> list[dict[str, Any]]:
        return list((await http.get("/api/officer/queue", headers=officer)).json()["conversations"])

    rows = await wait_for(queued, timeout=15)
    return str(rows[0]["id"])


def is_bot_reply(event: dict[str, Any]) -> bool:
    return event["type"] == "message" and event["message"]["sender"] == "bot"


class TestBotComposing:
    async def test_a_slow_answer_is_announced_as_typing_before_it_arrives(
        self, live_server: LiveServer
    ) -> None:
        pipeline = live_server.services.workers.pipeline
        pipeline.nlu = SlowNlu(pipeline.nlu)
        async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
            chat, socket = await chat_with_socket(live_server, http)
            try:
                await say(http, chat, QUESTION, "q1")
                events = await events_until(socket, is_bot_reply)
            finally:
                await socket.close()

        typing = [e for e in events if e["type"] == "typing"]
        assert typing == [{"type": "typing", "sender": "bot", "active": True, "expires_in": 15}]
        assert events.index(typing[0]) < len(events) - 1, "typing comes before the answer"


class TestWhileWaitingForAnOfficer:
    async def test_no_typing_event_while_the_case_waits_only_the_officers_own(
        self, live_server: LiveServer
    ) -> None:
        async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
            chat, socket = await chat_with_socket(live_server, http)
            try:
                await say(http, chat, "คุยกับเจ้าหน้าที่", "h1")
                await events_until(socket, is_bot_reply)  # "please wait for an officer"
                officer = await login(http, "admin", ADMIN_PASSWORD)
                conversation_id = await waiting_conversation(http, officer)

                await say(http, chat, "ยังรออยู่ไหมคะ", "h2")  # the bot does not answer this while queued
                typed = await http.post(
                    f"/api/officer/conversations/{conversation_id}/typing", headers=officer
                )
                events = await events_until(socket, lambda e: e["type"] == "typing")
            finally:
                await socket.close()

        assert typed.status_code == 204
        typing = [e for e in events if e["type"] == "typing"]
        assert typing == [{"type": "typing", "sender": "officer", "active": True, "expires_in": 6}]
        assert any(e["type"] == "message" and e["message"]["text"] == "ยังรออยู่ไหมคะ" for e in events)


class TestOfficerTypingEndpoint:
    async def test_an_officer_of_another_department_gets_404(self, live_server: LiveServer) -> None:
        async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
            chat, socket = await chat_with_socket(live_server, http)
            await socket.close()
            await say(http, chat, "คุยกับเจ้าหน้าที่", "h1")
            conversation_id = await waiting_conversation(http, await login(http, "admin", ADMIN_PASSWORD))
            await admin.create_officer(
                # the hub serves from its own thread and loop: a unit of work of this one
                SessionTransactions(live_server.services.sessionmaker),
                username="info1",
                password="officer-password-1",
                departments=["information"],
                role=Role.OFFICER,
                known_departments=live_server.services.kb.store.current.departments,
            )
            other = await login(http, "info1", "officer-password-1")

            refused = await http.post(f"/api/officer/conversations/{conversation_id}/typing", headers=other)
            unauthenticated = await http.post(f"/api/officer/conversations/{conversation_id}/typing")

        assert refused.status_code == 404
        assert unauthenticated.status_code == 401
