"""The console's WebSocket carries a conversation only while the officer may see it (issue 25, 1).

On SQLite only: who may watch what is the hub's rule, whichever database stores it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from app.db.engine import create_engine, create_sessionmaker
from app.db.transactions import SessionTransactions
from app.officers.models import Role
from app.services import Services
from tests.conftest import LiveServer
from tests.integration.officers.conftest import OfficerSession, login, make_officer, queue_citizen

EVENT_TIMEOUT = 15.0


async def _next(ws: ClientConnection, matches: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first event that ``matches``; every event passed over on the way is kept in ``seen``."""

    async def scan() -> dict[str, Any]:
        while True:
            event: dict[str, Any] = json.loads(await ws.recv())
            seen.setdefault(id(ws), []).append(event)
            if matches(event):
                return event

    return await asyncio.wait_for(scan(), EVENT_TIMEOUT)


seen: dict[int, list[dict[str, Any]]] = {}


@pytest.fixture
def hub_database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url


@pytest.fixture
async def services(live_server: LiveServer, hub_database_url: str) -> AsyncIterator[Services]:
    """The hub's services, with a database engine on the test's own event loop (the hub runs its
    own loop in another thread, and an asyncpg connection belongs to one loop)."""
    engine = create_engine(hub_database_url)
    sessionmaker = create_sessionmaker(engine)
    try:
        yield cast(
            Services,
            SimpleNamespace(
                sessionmaker=sessionmaker,
                transactions=SessionTransactions(sessionmaker),
                kb=live_server.services.kb,
            ),
        )
    finally:
        await engine.dispose()


async def _console(hub: LiveServer, officer: OfficerSession) -> ClientConnection:
    ws = await websockets.connect(hub.url.replace("http://", "ws://") + "/api/officer/ws")
    await ws.send(json.dumps({"type": "auth", "token": officer.headers["Authorization"][7:]}))
    await _next(ws, lambda e: e["type"] == "ready")
    return ws


async def _watch(ws: ClientConnection, *conversation_ids: str) -> None:
    await ws.send(json.dumps({"type": "watch", "conversation_ids": list(conversation_ids)}))
    watching = await _next(ws, lambda e: e["type"] == "watching")
    assert watching["conversation_ids"] == sorted(conversation_ids)


async def _closed_with(ws: ClientConnection) -> int | None:
    with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
        await asyncio.wait_for(_next(ws, lambda e: False), EVENT_TIMEOUT)
    return closed.value.rcvd.code if closed.value.rcvd else None


def _citizen_texts(ws: ClientConnection, conversation_id: str) -> list[str]:
    return [
        e["message"]["text"]
        for e in seen.get(id(ws), [])
        if e["type"] == "message" and e.get("conversation_id") == conversation_id
    ]


async def test_a_transfer_to_another_department_stops_the_stream_at_once(
    live_server: LiveServer, services: Services
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        somchai = await make_officer(http, services, "somchai", ["registration"])
        supervisor = await make_officer(
            http, services, "malee", ["registration", "accounts"], Role.SUPERVISOR
        )
        moved = await queue_citizen(http, services, "registration", first_words=None)
        stays = await queue_citizen(http, services, "registration", first_words=None)
        officer_ws, supervisor_ws = (
            await _console(live_server, somchai),
            await _console(live_server, supervisor),
        )
        try:
            await _watch(officer_ws, moved.conversation_id, stays.conversation_id)
            await _watch(supervisor_ws, moved.conversation_id)

            transfer = await http.post(
                f"/api/officer/conversations/{moved.conversation_id}/transfer",
                json={"department": "accounts", "note": "เรื่องงบการเงิน ส่งต่อทีมบัญชี"},
                headers=supervisor.headers,
            )
            assert transfer.status_code == 200
            assert (
                await http.get(f"/api/officer/conversations/{moved.conversation_id}", headers=somchai.headers)
            ).status_code == 404
            secret = "เบอร์ของดิฉัน 0812345678 ค่ะ"
            await moved.say(secret)
            # the supervisor still sees it: the event was published to every subscriber
            await _next(supervisor_ws, lambda e: e["type"] == "message" and e["message"]["text"] == secret)
            await stays.say("ยังรออยู่นะคะ")
            await _next(officer_ws, lambda e: e["type"] == "message" and e["message"]["text"] == "ยังรออยู่นะคะ")

            assert secret not in _citizen_texts(officer_ws, moved.conversation_id)
            notes = [e for e in seen[id(officer_ws)] if e["type"] == "note"]
            assert not [n for n in notes if n["conversation_id"] == moved.conversation_id]
        finally:
            await officer_ws.close()
            await supervisor_ws.close()


async def test_a_deactivated_officers_socket_is_closed_with_4401(
    live_server: LiveServer, services: Services, admin_headers_live: dict[str, str]
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        somchai = await make_officer(http, services, "somchai", ["general"])
        ws = await _console(live_server, somchai)
        response = await http.patch(
            f"/api/admin/officers/{somchai.id}", json={"active": False}, headers=admin_headers_live
        )
        assert response.status_code == 200
        assert await _closed_with(ws) == 4401


@pytest.mark.parametrize(
    "change", [{"password": "a-new-password-1"}, {"departments": ["accounts"]}, {"role": "supervisor"}]
)
async def test_a_revoked_token_closes_the_socket_with_4401(
    live_server: LiveServer, services: Services, admin_headers_live: dict[str, str], change: dict[str, Any]
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        somchai = await make_officer(http, services, "somchai", ["general"])
        ws = await _console(live_server, somchai)
        assert (
            await http.patch(f"/api/admin/officers/{somchai.id}", json=change, headers=admin_headers_live)
        ).status_code == 200
        assert await _closed_with(ws) == 4401
        assert (await http.get("/api/officer/queue", headers=somchai.headers)).status_code == 401


async def test_logging_out_closes_the_socket(live_server: LiveServer, services: Services) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        somchai = await make_officer(http, services, "somchai", ["general"])
        ws = await _console(live_server, somchai)
        assert (await http.post("/api/officer/logout", headers=somchai.headers)).status_code == 204
        assert await _closed_with(ws) == 4401


@pytest.fixture
async def admin_headers_live(live_server: LiveServer) -> dict[str, str]:
    from tests.conftest import ADMIN_PASSWORD

    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        return await login(http, "admin", ADMIN_PASSWORD)
