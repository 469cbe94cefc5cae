"""Web-chat limits over real HTTP to a live hub (issue 25, 3): 429 with Retry-After, nothing stored.

On SQLite only: the limits are counted outside the database (in memory or Redis), before anything is stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from sqlalchemy import func, select

from app.conversations.models import Conversation, Message
from app.db.engine import create_engine, create_sessionmaker
from tests.conftest import LiveServer, make_settings, wait_for

MESSAGES_PER_MINUTE = 20
SESSIONS_PER_HOUR = 5
SOCKETS_PER_SESSION = 3


@pytest.fixture
def limited_hub(sqlite_database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    settings = make_settings(
        sqlite_database_url,
        tmp_path,
        GOVCHAT_WEBCHAT_MESSAGES_PER_MINUTE=MESSAGES_PER_MINUTE,
        GOVCHAT_WEBCHAT_SESSIONS_PER_HOUR=SESSIONS_PER_HOUR,
        GOVCHAT_WEBCHAT_SOCKETS_PER_SESSION=SOCKETS_PER_SESSION,
    )
    with LiveServer(settings) as hub:
        yield hub


async def _count(database_url: str, model: type[Message] | type[Conversation]) -> int:
    """Rows of ``model``, read on a connection of the test's own (the hub runs on another loop)."""
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            stmt = select(func.count()).select_from(model)
            if model is Message:
                stmt = stmt.where(Message.direction == "in")
            return int(await session.scalar(stmt) or 0)
    finally:
        await engine.dispose()


async def test_a_flood_of_messages_on_one_session_is_refused_beyond_the_limit(
    limited_hub: LiveServer, sqlite_database_url: str
) -> None:
    async with httpx.AsyncClient(base_url=limited_hub.url, timeout=30) as http:
        body = (await http.post("/api/webchat/sessions")).json()
        url = f"/api/webchat/sessions/{body['session_id']}/messages"
        headers = {"Authorization": f"Bearer {body['token']}"}

        async def post(n: int) -> httpx.Response:
            return await http.post(
                url, json={"text": f"สวัสดีครับ {n}", "client_message_id": f"m{n}"}, headers=headers
            )

        responses = await asyncio.gather(*(post(n) for n in range(MESSAGES_PER_MINUTE + 10)))
        codes = [r.status_code for r in responses]
        assert codes.count(202) == MESSAGES_PER_MINUTE and codes.count(429) == 10
        refused = next(r for r in responses if r.status_code == 429)
        assert 0 < int(refused.headers["Retry-After"]) <= 60
        assert await _count(sqlite_database_url, Message) == MESSAGES_PER_MINUTE
        # another session is not held back by this one
        other = (await http.post("/api/webchat/sessions")).json()
        response = await http.post(
            f"/api/webchat/sessions/{other['session_id']}/messages",
            json={"text": "สวัสดีค่ะ", "client_message_id": "x1"},
            headers={"Authorization": f"Bearer {other['token']}"},
        )
        assert response.status_code == 202


async def test_requests_without_the_sessions_token_do_not_use_up_its_quota(limited_hub: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=limited_hub.url, timeout=30) as http:
        body = (await http.post("/api/webchat/sessions")).json()
        url = f"/api/webchat/sessions/{body['session_id']}/messages"
        for n in range(MESSAGES_PER_MINUTE + 1):
            forged = await http.post(
                url,
                json={"text": "x", "client_message_id": f"f{n}"},
                headers={"Authorization": "Bearer forged"},
            )
            assert forged.status_code == 401
        response = await http.post(
            url,
            json={"text": "สวัสดีครับ", "client_message_id": "real"},
            headers={"Authorization": f"Bearer {body['token']}"},
        )
        assert response.status_code == 202


async def test_new_sessions_from_one_address_are_refused_beyond_the_limit(
    limited_hub: LiveServer, sqlite_database_url: str
) -> None:
    async with httpx.AsyncClient(base_url=limited_hub.url, timeout=30) as http:
        responses = await asyncio.gather(
            *(http.post("/api/webchat/sessions") for _ in range(SESSIONS_PER_HOUR + 5))
        )
    codes = [r.status_code for r in responses]
    assert codes.count(201) == SESSIONS_PER_HOUR and codes.count(429) == 5
    refused = next(r for r in responses if r.status_code == 429)
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert await _count(sqlite_database_url, Conversation) == SESSIONS_PER_HOUR


async def test_websockets_per_session_are_capped(limited_hub: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=limited_hub.url, timeout=30) as http:
        body = (await http.post("/api/webchat/sessions")).json()
    url = (
        limited_hub.url.replace("http://", "ws://")
        + f"/api/webchat/sessions/{body['session_id']}/ws?token={body['token']}"
    )
    sockets = [await websockets.connect(url) for _ in range(SOCKETS_PER_SESSION)]
    try:
        with pytest.raises(websockets.exceptions.InvalidStatus):
            await websockets.connect(url)
        await sockets[0].close()

        # a slot is free again once a socket closed (the server notices the close first)
        async def reconnects() -> bool:
            try:
                extra = await websockets.connect(url)
            except websockets.exceptions.InvalidStatus:
                return False
            sockets.append(extra)
            return True

        await wait_for(reconnects)
    finally:
        for ws in sockets:
            await ws.close()
