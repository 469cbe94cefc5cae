"""The console's live updates: one WebSocket per console tab, fed from the event bus.

``WS /api/officer/ws``; the first message is ``{"type": "auth", "token": <officer token>}``
(a bad one closes the socket with code 4401). Then the server pushes
``{"type": "queue_changed", "department"}`` for the officer's departments as soon as the
socket is ``ready``. The console sends ``{"type": "watch", "conversation_ids": [...]}`` for
the conversations it shows; once ``watching`` is confirmed it receives their ``message`` and
``delivery`` events (every new citizen message at once), ``note`` and ``conversation_changed``.
The bus is in-process or Redis, so an officer on any hub process sees every event; a console
that reconnects reloads from the API (the database is the truth).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy import select

from app.conversations.models import Conversation
from app.officers import access, events
from app.officers.auth import officer_for_token
from app.officers.models import Officer
from app.services import Services

router = APIRouter()
log = logging.getLogger(__name__)
MAX_WATCHED = 100
AUTH_TIMEOUT_SECONDS = 10.0
OUTBOX_SIZE = 1000
Transform = Callable[[dict[str, Any]], dict[str, Any] | None]


class ConsoleSocket:
    def __init__(self, services: Services, officer: Officer, websocket: WebSocket) -> None:
        self.services = services
        self.officer = officer
        self.websocket = websocket
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(OUTBOX_SIZE)
        self.watched: dict[str, list[asyncio.Task[None]]] = {}
        self.queue_tasks: list[asyncio.Task[None]] = []

    async def run(self) -> None:
        departments = access.visible_departments(self.officer, self.services.kb_store.current.departments)
        for department in departments:
            self.queue_tasks.append(
                await self._forward(events.queue_topic(department), _queue_event(department))
            )
        self._push({"type": "ready", "departments": departments})
        sender = asyncio.create_task(self._send_forever())
        receiver = asyncio.create_task(self._receive_forever())
        try:
            await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            tasks = [sender, receiver, *self.queue_tasks, *(t for ts in self.watched.values() for t in ts)]
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                    await task

    def _push(self, event: dict[str, Any]) -> None:
        try:
            self.outbox.put_nowait(event)
        except asyncio.QueueFull:  # a stuck browser: it reloads from the API when it reconnects
            log.warning("console_event_dropped", extra={"officer": self.officer.id})

    async def _send_forever(self) -> None:
        while True:
            await self.websocket.send_json(await self.outbox.get())

    async def _receive_forever(self) -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                raw = await self.websocket.receive_text()
                try:
                    command = json.loads(raw)
                except json.JSONDecodeError:
                    continue
                if isinstance(command, dict) and command.get("type") == "watch":
                    ids = command.get("conversation_ids")
                    await self._watch([str(i) for i in ids] if isinstance(ids, list) else [])

    async def _watch(self, wanted: list[str]) -> None:
        allowed = await self._visible(wanted[:MAX_WATCHED])
        for conversation_id in set(self.watched) - allowed:
            for task in self.watched.pop(conversation_id):
                task.cancel()
        for conversation_id in allowed - set(self.watched):
            self.watched[conversation_id] = [
                await self._forward(
                    events.conversation_topic(conversation_id), _conversation_event(conversation_id)
                ),
                await self._forward(events.console_topic(conversation_id), lambda event: event),
            ]
        self._push({"type": "watching", "conversation_ids": sorted(self.watched)})

    async def _visible(self, conversation_ids: list[str]) -> set[str]:
        if not conversation_ids:
            return set()
        async with self.services.sessionmaker() as session:
            rows = await session.scalars(select(Conversation).where(Conversation.id.in_(conversation_ids)))
            return {c.id for c in rows if access.can_see(self.officer, c)}

    async def _forward(self, topic: str, transform: Transform) -> asyncio.Task[None]:
        """Start relaying ``topic``; returns once the subscription is live (nothing is missed after)."""
        subscribed = asyncio.Event()

        async def relay() -> None:
            async with self.services.bus.subscribe(topic) as stream:
                subscribed.set()
                async for event in stream:
                    shaped = transform(event)
                    if shaped is not None:
                        self._push(shaped)

        task = asyncio.create_task(relay())
        waiter = asyncio.create_task(subscribed.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        return task


def _queue_event(department: str) -> Transform:
    return lambda event: {"type": "queue_changed", "department": department}


def _conversation_event(conversation_id: str) -> Transform:
    def shape(event: dict[str, Any]) -> dict[str, Any] | None:
        if event.get("type") not in ("message", "delivery"):
            return None
        return {"type": event["type"], "conversation_id": conversation_id, "message": event.get("message")}

    return shape


async def _authenticate(services: Services, websocket: WebSocket) -> Officer | None:
    """The first message is ``{"type": "auth", "token": ...}`` (a token in the URL would be logged)."""
    try:
        raw = await asyncio.wait_for(websocket.receive_text(), AUTH_TIMEOUT_SECONDS)
        message = json.loads(raw)
    except (TimeoutError, json.JSONDecodeError, WebSocketDisconnect):
        return None
    if not isinstance(message, dict) or message.get("type") != "auth":
        return None
    token = message.get("token")
    return await officer_for_token(services, token) if isinstance(token, str) else None


@router.websocket("/api/officer/ws")
async def console_events(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    await websocket.accept()
    officer = await _authenticate(services, websocket)
    if officer is None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await websocket.close(code=4401, reason="missing, invalid or expired token")
        return
    await ConsoleSocket(services, officer, websocket).run()
