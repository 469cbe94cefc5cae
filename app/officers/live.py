"""The console's live updates: one WebSocket per console tab, fed from the event bus.

``WS /api/officer/ws``; the first message is ``{"type": "auth", "token": <officer token>}``
(a bad one closes the socket with code 4401). Then the server pushes
``{"type": "queue_changed", "department"}`` for the officer's departments as soon as the
socket is ``ready``. The console sends ``{"type": "watch", "conversation_ids": [...]}`` for
the conversations it shows; once ``watching`` is confirmed it receives their ``message`` and
``delivery`` events (every new citizen message at once), ``note`` and ``conversation_changed``.
Complaint cases of the officer's departments come unasked: ``{"type": "complaint_filed" |
"complaint_changed", "number", "status", "department"}``.
The bus is in-process or Redis, so an officer on any hub process sees every event; a console
that reconnects reloads from the API (the database is the truth).

Access is checked again for every conversation event, against the database at that moment: a
conversation transferred to a department the officer does not belong to stops being carried
(``watching`` is sent again without it), a complaint case is carried only while its department
is the officer's, and when the officer's token is revoked (deactivated,
password, role or departments changed, logged out) the socket closes with 4401 at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy import select

from app.complaints.models import ComplaintCase
from app.complaints.service import complaints_topic
from app.conversations.models import Conversation
from app.officers import access, auth, events
from app.officers.auth import officer_for_token
from app.officers.models import Officer
from app.services import Services

router = APIRouter()
log = logging.getLogger(__name__)
MAX_WATCHED = 100
AUTH_TIMEOUT_SECONDS = 10.0
OUTBOX_SIZE = 1000
REVOKED = 4401
Transform = Callable[[dict[str, Any]], dict[str, Any] | None]
Check = Callable[[dict[str, Any]], Awaitable[bool]]
_CLOSE = {"type": "_close"}  # put in the outbox: the sender closes the socket (4401)


class ConsoleSocket:
    def __init__(self, services: Services, officer: Officer, token: str, websocket: WebSocket) -> None:
        self.services = services
        self.officer = officer
        self.token = token
        self.websocket = websocket
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(OUTBOX_SIZE)
        self.watched: dict[str, list[asyncio.Task[None]]] = {}
        self.queue_tasks: list[asyncio.Task[None]] = []

    async def run(self) -> None:
        departments = access.visible_departments(self.officer, self.services.kb.store.current.departments)
        for department in departments:
            self.queue_tasks.append(
                await self._forward(events.queue_topic(department), _queue_event(department))
            )
            self.queue_tasks.append(
                await self._forward(complaints_topic(department), _complaint_event, self._may_carry_case)
            )
        self.queue_tasks.append(
            await self._forward(
                auth.officer_topic(self.officer.id), lambda event: event, self._on_revocation_notice
            )
        )
        await self._refresh_officer()  # revoked while the subscriptions were being set up
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
            event = await self.outbox.get()
            if event is _CLOSE:
                await self.websocket.close(code=REVOKED, reason="token revoked")
                return
            await self.websocket.send_json(event)

    async def _refresh_officer(self) -> bool:
        """Reload the officer; ``False``, and the socket closes with 4401, once the token is revoked."""
        officer = await officer_for_token(self.services, self.token)
        if officer is None:
            self._close()
            return False
        self.officer = officer
        return True

    async def _on_revocation_notice(self, _event: dict[str, Any]) -> bool:
        await self._refresh_officer()
        return False  # the notice itself is not for the console

    def _close(self) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.outbox.put_nowait(_CLOSE)

    def _may_carry(self, conversation_id: str) -> Check:
        async def check(_event: dict[str, Any]) -> bool:
            if not await self._refresh_officer():
                return False
            if await self._visible([conversation_id]):
                return True
            self._unwatch(conversation_id)
            self._push({"type": "watching", "conversation_ids": sorted(self.watched)})
            return False

        return check

    async def _may_carry_case(self, event: dict[str, Any]) -> bool:
        if not await self._refresh_officer():
            return False
        async with self.services.sessionmaker() as session:
            case = await session.scalar(
                select(ComplaintCase).where(ComplaintCase.number == str(event.get("number")))
            )
        scope = access.department_scope(self.officer)
        return case is not None and (scope is None or case.department in scope)

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

    def _unwatch(self, conversation_id: str) -> None:
        for task in self.watched.pop(conversation_id, []):
            task.cancel()  # a relay cancelling itself ends at its next wait for an event

    async def _watch(self, wanted: list[str]) -> None:
        allowed = await self._visible(wanted[:MAX_WATCHED])
        for conversation_id in set(self.watched) - allowed:
            self._unwatch(conversation_id)
        for conversation_id in allowed - set(self.watched):
            check = self._may_carry(conversation_id)
            self.watched[conversation_id] = [
                await self._forward(
                    events.conversation_topic(conversation_id), _conversation_event(conversation_id), check
                ),
                await self._forward(events.console_topic(conversation_id), lambda event: event, check),
            ]
        self._push({"type": "watching", "conversation_ids": sorted(self.watched)})

    async def _visible(self, conversation_ids: list[str]) -> set[str]:
        if not conversation_ids:
            return set()
        async with self.services.sessionmaker() as session:
            rows = await session.scalars(select(Conversation).where(Conversation.id.in_(conversation_ids)))
            return {c.id for c in rows if access.can_see(self.officer, c)}

    async def _forward(
        self, topic: str, transform: Transform, check: Check | None = None
    ) -> asyncio.Task[None]:
        """Start relaying ``topic``; returns once the subscription is live (nothing is missed after).

        ``check`` decides, for each event, whether it may still be forwarded.
        """
        subscribed = asyncio.Event()

        async def relay() -> None:
            async with self.services.bus.subscribe(topic) as stream:
                subscribed.set()
                async for event in stream:
                    shaped = transform(event)
                    if shaped is not None and (check is None or await check(event)):
                        self._push(shaped)

        task = asyncio.create_task(relay())
        waiter = asyncio.create_task(subscribed.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        return task


def _queue_event(department: str) -> Transform:
    return lambda event: {"type": "queue_changed", "department": department}


def _complaint_event(event: dict[str, Any]) -> dict[str, Any] | None:
    if event.get("type") not in ("complaint_filed", "complaint_changed"):
        return None
    return {key: event.get(key) for key in ("type", "number", "status", "department")}


def _conversation_event(conversation_id: str) -> Transform:
    def shape(event: dict[str, Any]) -> dict[str, Any] | None:
        if event.get("type") not in ("message", "delivery"):
            return None
        return {"type": event["type"], "conversation_id": conversation_id, "message": event.get("message")}

    return shape


async def _authenticate(services: Services, websocket: WebSocket) -> tuple[Officer, str] | None:
    """The first message is ``{"type": "auth", "token": ...}`` (a token in the URL would be logged)."""
    try:
        raw = await asyncio.wait_for(websocket.receive_text(), AUTH_TIMEOUT_SECONDS)
        message = json.loads(raw)
    except (TimeoutError, json.JSONDecodeError, WebSocketDisconnect):
        return None
    if not isinstance(message, dict) or message.get("type") != "auth":
        return None
    token = message.get("token")
    officer = await officer_for_token(services, token) if isinstance(token, str) else None
    return (officer, token) if officer is not None and isinstance(token, str) else None


@router.websocket("/api/officer/ws")
async def console_events(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    await websocket.accept()
    authenticated = await _authenticate(services, websocket)
    if authenticated is None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await websocket.close(code=REVOKED, reason="missing, invalid or expired token")
        return
    officer, token = authenticated
    await ConsoleSocket(services, officer, token, websocket).run()
