"""Complaint cases on the console's WebSocket: a case filed by a citizen and a status change reach
the officers of the case's department (and admins) at once, and no one else (issue 23)."""

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

from app.complaints import service as complaints
from app.db.engine import create_engine, create_sessionmaker
from app.db.transactions import SessionTransactions
from app.services import Services
from tests.conftest import ADMIN_PASSWORD, LiveServer
from tests.integration.officers.conftest import OfficerSession, login, make_officer, new_citizen

EVENT_TIMEOUT = 15.0
DESCRIPTION = "ยื่นจดทะเบียนออนไลน์ไปสองสัปดาห์แล้ว ยังไม่มีใครติดต่อกลับเลยค่ะ"


@pytest.fixture
def hub_database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url  # who hears an event is decided by the officer's departments


@pytest.fixture
async def services(live_server: LiveServer, hub_database_url: str) -> AsyncIterator[Services]:
    """The hub's database on the test's own event loop (the hub runs its loop in another thread)."""
    engine = create_engine(hub_database_url)
    sessionmaker = create_sessionmaker(engine)
    try:
        yield cast(
            Services,
            SimpleNamespace(
                sessionmaker=sessionmaker,
                transactions=SessionTransactions(sessionmaker),
                kb=live_server.services.kb,
                responses=live_server.services.responses,
            ),
        )
    finally:
        await engine.dispose()


class Console:
    """An officer's socket and every event it has received."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, hub: LiveServer, officer: OfficerSession) -> Console:
        console = cls(await websockets.connect(hub.url.replace("http://", "ws://") + "/api/officer/ws"))
        await console.ws.send(json.dumps({"type": "auth", "token": officer.headers["Authorization"][7:]}))
        await console.next(lambda e: e["type"] == "ready")
        return console

    async def next(self, matches: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        async def scan() -> dict[str, Any]:
            while True:
                event: dict[str, Any] = json.loads(await self.ws.recv())
                self.seen.append(event)
                if matches(event):
                    return event

        return await asyncio.wait_for(scan(), EVENT_TIMEOUT)

    def complaint_events(self) -> list[dict[str, Any]]:
        return [e for e in self.seen if str(e["type"]).startswith("complaint_")]


def _is(kind: str, number: str | None = None) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["type"] == kind and (number is None or e["number"] == number)


async def test_a_filed_case_and_its_status_change_reach_its_department_only(
    live_server: LiveServer, services: Services
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        kanya = await make_officer(http, services, "kanya", ["complaints"])
        somchai = await make_officer(http, services, "somchai", ["registration"])
        admin = OfficerSession("", "admin", await login(http, "admin", ADMIN_PASSWORD))
        mine, other = await Console.open(live_server, kanya), await Console.open(live_server, somchai)
        everything = await Console.open(live_server, admin)
        try:
            citizen = await new_citizen(http, services)
            await citizen.say("ขอร้องเรียนค่ะ")
            await citizen.wait_for_reply(1)
            await citizen.say(DESCRIPTION)
            filed = await mine.next(_is("complaint_filed"))
            number = complaints.find_number((await citizen.wait_for_reply(2))[-1]["text"])
            assert filed == {
                "type": "complaint_filed",
                "number": number,
                "status": "received",
                "department": "complaints",
            }

            changed = await http.post(
                f"/api/officer/complaints/{number}/status",
                json={"status": "in_progress", "note": "กำลังตรวจสอบค่ะ"},
                headers=admin.headers,
            )
            assert changed.status_code == 200
            heard = await mine.next(_is("complaint_changed", number))
            assert heard["status"] == "in_progress"
            await everything.next(_is("complaint_filed", number))
            await everything.next(_is("complaint_changed", number))

            # a round trip through the other officer's socket, after both events were published
            await other.ws.send(json.dumps({"type": "watch", "conversation_ids": []}))
            await other.next(_is("watching"))
            assert other.complaint_events() == []
            assert DESCRIPTION not in json.dumps(mine.seen, ensure_ascii=False)  # no personal data
        finally:
            await mine.ws.close()
            await other.ws.close()
            await everything.ws.close()
