"""Web-chat API and WebSocket (INTERFACES.md, "Web chat")."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Header,
    HTTPException,
    Query,
    Request,
    Response,
    WebSocket,
    WebSocketDisconnect,
    status,
)
from pydantic import BaseModel, Field, StrictStr, field_validator

from app.conversations import transcript
from app.conversations.schemas import message_public
from app.db.schema import utcnow
from app.deps import ServicesDep, SessionDep
from app.services import Services
from app.webchat import attachments, service, typing_events
from app.webchat.limits import MessageLimit, NewSessionLimit, SocketSlot

router = APIRouter(prefix="/api/webchat", tags=["web chat"])
MAX_TEXT_CODE_POINTS = 2000


class SessionCreated(BaseModel):
    session_id: str
    token: str
    expires_at: str  # the token is refused (401) from then on; the widget forgets the session


# Control characters other than tab and line breaks, and unpaired surrogates: no keyboard types
# them, PostgreSQL cannot store U+0000, and nothing can encode a lone surrogate as UTF-8.
_FORBIDDEN_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


class PostMessage(BaseModel):
    text: StrictStr
    client_message_id: StrictStr = Field(min_length=1, max_length=128)

    @field_validator("text")
    @classmethod
    def _text_not_empty_nor_too_long(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is empty")
        if len(value) > MAX_TEXT_CODE_POINTS:  # str length counts code points
            raise ValueError(f"text is longer than {MAX_TEXT_CODE_POINTS} characters")
        return _without_forbidden_characters(value, "text")

    @field_validator("client_message_id")
    @classmethod
    def _client_message_id_printable(cls, value: str) -> str:
        return _without_forbidden_characters(value, "client_message_id")


def _without_forbidden_characters(value: str, name: str) -> str:
    if _FORBIDDEN_CHARACTERS.search(value):
        raise ValueError(f"{name} holds control characters or unpaired surrogates")
    return value


class MessageAccepted(BaseModel):
    message_id: str


def _authorize(services: Services, session_id: str, token: str | None) -> None:
    """401 without a valid token, 403 for another session's token."""
    subject = services.webchat_tokens.verify(token) if token else None
    if subject is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or invalid token")
    if subject != session_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "token belongs to another session")


def _bearer(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return None


AuthorizationHeader = Annotated[str | None, Header()]


@router.post("/sessions", status_code=status.HTTP_201_CREATED, dependencies=[NewSessionLimit])
async def create_session(services: ServicesDep) -> SessionCreated:
    session_id = await service.create_session(services)
    token = services.webchat_tokens.sign(session_id)
    expires = utcnow() + dt.timedelta(days=services.settings.webchat_session_days)
    return SessionCreated(
        session_id=session_id, token=token, expires_at=expires.isoformat(timespec="seconds")
    )


@router.post(
    "/sessions/{session_id}/messages", status_code=status.HTTP_202_ACCEPTED, dependencies=[MessageLimit]
)
async def post_message(
    session_id: str, body: PostMessage, services: ServicesDep, authorization: AuthorizationHeader = None
) -> MessageAccepted:
    _authorize(services, session_id, _bearer(authorization))
    result = await service.post_message(services, session_id, body.text, body.client_message_id)
    if result is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown session")
    if result.conflict:
        raise HTTPException(status.HTTP_409_CONFLICT, "client_message_id was already used with another text")
    return MessageAccepted(message_id=str(result.message_id))


@router.get("/sessions/{session_id}/messages")
async def list_messages(
    session_id: str,
    services: ServicesDep,
    session: SessionDep,
    after: Annotated[str | None, Query()] = None,
    authorization: AuthorizationHeader = None,
) -> dict[str, list[dict[str, Any]]]:
    _authorize(services, session_id, _bearer(authorization))
    conversation = await service.find_conversation(session, session_id)
    if conversation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown session")
    after_id = await service.resolve_after(session, conversation.id, after)
    if after is not None and after_id is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "after names no message of this session")
    messages = await transcript.list_messages(session, conversation.id, after_id)
    return {"messages": [citizen_view(message_public(m), m.extra) for m in messages]}


@router.post(
    "/sessions/{session_id}/attachments", status_code=status.HTTP_201_CREATED, dependencies=[MessageLimit]
)
async def post_attachment(
    session_id: str, request: Request, services: ServicesDep, authorization: AuthorizationHeader = None
) -> MessageAccepted:
    """A JPEG, PNG or PDF (multipart field ``file``, at most 10 MB) sent as the citizen's message."""
    _authorize(services, session_id, _bearer(authorization))
    try:
        upload = await attachments.read_upload(request)
    except attachments.TooLarge as error:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(error)) from error
    except attachments.Unsupported as error:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, str(error)) from error
    except attachments.BadUpload as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from error
    try:
        result = await service.post_attachment(services, session_id, upload)
    finally:
        await upload.close()
    if result is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown session")
    if result.conflict:
        raise HTTPException(
            status.HTTP_409_CONFLICT, "client_message_id was already used for another message"
        )
    return MessageAccepted(message_id=str(result.message_id))


@router.websocket("/sessions/{session_id}/ws", dependencies=[SocketSlot])
async def session_events(websocket: WebSocket, session_id: str, token: str | None = None) -> None:
    services: Services = websocket.app.state.services
    subject = services.webchat_tokens.verify(token) if token else None
    if subject is None or subject != session_id:
        # 401: missing, forged or expired (the session's days are over); 403: another session's.
        await _deny(websocket, 401 if subject is None else 403)
        return
    async with services.sessionmaker() as session:
        conversation = await service.find_conversation(session, session_id)
    if conversation is None:
        await _deny(websocket, 404)
        return
    # Subscribe before accepting: the client catches up (GET ?after=) once the socket is open,
    # so anything stored after that read must already reach this subscription.
    async with (
        services.bus.subscribe(typing_events.conversation_topic(conversation.id)) as conversation_events,
        services.bus.subscribe(typing_events.session_topic(session_id)) as session_events,
    ):
        await websocket.accept()
        sending = asyncio.Lock()  # one frame at a time from the two forwarders
        tasks = {
            asyncio.create_task(_forward(websocket, conversation_events, sending)),
            asyncio.create_task(_forward(websocket, session_events, sending)),
            asyncio.create_task(_until_disconnected(websocket)),
        }
        # Waiting for events alone would never notice a client that left (nor let the server shut down).
        _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task


async def _deny(websocket: WebSocket, status_code: int) -> None:
    """Refuse the handshake with an HTTP status where the server can send one, else close it."""
    try:
        await websocket.send_denial_response(Response(status_code=status_code))
    except RuntimeError:  # the server does not support denial responses: it answers 403
        await websocket.close(code=4000 + status_code)


def citizen_view(message: dict[str, Any], extra: dict[str, Any] | None) -> dict[str, Any]:
    """The contract's message, plus what the citizen sent as files (name, type, size) when any."""
    sent = [
        {k: a.get(k) for k in ("kind", "filename", "content_type", "size")}
        for a in (extra or {}).get("attachments") or []
        if isinstance(a, dict)
    ]
    view = {k: message[k] for k in ("id", "direction", "sender", "text", "created_at", "quick_replies")}
    if sent:
        view["attachments"] = sent
    return view


async def _forward(
    websocket: WebSocket, events: AsyncIterator[dict[str, Any]], sending: asyncio.Lock
) -> None:
    async for event in events:
        outgoing: dict[str, Any]
        if event.get("type") == "message":
            outgoing = {
                "type": "message",
                "message": citizen_view(event["message"], event["message"].get("extra")),
            }
        elif event.get("type") == "typing":
            outgoing = {k: event.get(k) for k in ("type", "sender", "active", "expires_in")}
        else:
            continue
        async with sending:
            await websocket.send_json(outgoing)


async def _until_disconnected(websocket: WebSocket) -> None:
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass  # the client has nothing to say on this socket
