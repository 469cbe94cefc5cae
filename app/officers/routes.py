"""Officer API (INTERFACES.md, "Officer API"): thin routes over ``service`` and ``views``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import FileResponse

from app.conversations.models import Conversation, ConversationState
from app.deps import ServicesDep, SessionDep
from app.middleware import attachment_delivery
from app.officers import access, auth, inbox, service, views
from app.officers.auth import CurrentOfficer
from app.officers.desk import OfficerDesk, OfficerDeskDep
from app.officers.errors import as_http
from app.officers.schemas import (
    AssignRequest,
    CannedReplies,
    CitizenHistory,
    Colleagues,
    ConversationDetail,
    ConversationStatus,
    DepartmentCounts,
    DepartmentList,
    HeldConversations,
    LoginRequest,
    MessageAccepted,
    Note,
    NoteRequest,
    OfficerProfile,
    Queue,
    ReplyRequest,
    TokenResponse,
    TransferRequest,
)
from channels.base import Channel

router = APIRouter(prefix="/api/officer", tags=["officer"])


def _state(conversation: Conversation) -> ConversationStatus:
    return ConversationStatus(
        id=conversation.id,
        state=ConversationState(conversation.state),
        department=conversation.department,
        assigned_to=conversation.assigned_to,
    )


@router.post("/login")
async def login(body: LoginRequest, request: Request, services: ServicesDep) -> TokenResponse:
    address = request.client.host if request.client else "unknown"
    try:
        token = await auth.login(
            services.transactions, services.officer_tokens, body.username, body.password, address
        )
    except auth.TooManyAttempts as error:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, error.reason, headers={"Retry-After": str(error.retry_after)}
        ) from error
    except auth.InvalidCredentials as error:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, error.reason) from error
    return TokenResponse(token=token)


@router.get("/me")
async def me(officer: CurrentOfficer, services: ServicesDep) -> OfficerProfile:
    return views.me(services.kb.store.current, officer)


@router.get("/departments")
async def departments(officer: CurrentOfficer, services: ServicesDep) -> DepartmentList:
    return DepartmentList(departments=views.departments(services.kb.store.current))


def _inbox_filter(
    services: ServicesDep,
    q: Annotated[str | None, Query(max_length=inbox.MAX_QUERY_CHARS)] = None,
    channel: Channel | None = None,
    department: Annotated[str | None, Query(max_length=64)] = None,
    breached: bool | None = None,
) -> inbox.InboxFilter:
    """Search and filters of the queue and held lists; none given: everything, as before."""
    if department is not None and department not in services.kb.store.current.departments:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown department {department!r}")
    text = (q or "").strip() or None
    return inbox.InboxFilter(text, channel.value if channel else None, department, breached)


InboxFilterDep = Annotated[inbox.InboxFilter, Depends(_inbox_filter)]


@router.get("/queue")
async def queue(
    officer: CurrentOfficer, services: ServicesDep, session: SessionDep, wanted: InboxFilterDep
) -> Queue:
    rows = await views.queue(services.kb.store.current, session, officer)
    return Queue(conversations=await inbox.filter_rows(session, rows, wanted))


@router.get("/conversations")
async def held_conversations(
    officer: CurrentOfficer,
    services: ServicesDep,
    session: SessionDep,
    wanted: InboxFilterDep,
    everyone: bool = False,
) -> HeldConversations:
    """Conversations with an officer: mine, or (supervisors, admins) everyone's in my departments."""
    everyone = everyone and access.can_overrule(officer)
    rows = await views.held(services.kb.store.current, session, officer, everyone)
    return HeldConversations(conversations=await inbox.filter_rows(session, rows, wanted))


@router.get("/counts")
async def counts(officer: CurrentOfficer, services: ServicesDep, session: SessionDep) -> DepartmentCounts:
    """Waiting, with-officer and breached-target counts of each of my departments."""
    counted = await inbox.department_counts(services.kb.store.current, session, officer)
    return DepartmentCounts(departments=counted)


@router.get("/officers")
async def officers(officer: CurrentOfficer, services: ServicesDep, session: SessionDep) -> Colleagues:
    """Supervisors and admins: the officers they may assign a conversation to."""
    if not access.can_overrule(officer):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only supervisors and administrators reassign")
    return Colleagues(officers=await inbox.colleagues(services.kb.store.current, session, officer))


@router.get("/conversations/{conversation_id}")
async def conversation(
    conversation_id: str, officer: CurrentOfficer, services: ServicesDep, session: SessionDep
) -> ConversationDetail:
    with as_http():
        return await views.conversation_detail(
            services.kb.store.current, services.adapters, session, officer, conversation_id
        )


@router.get("/conversations/{conversation_id}/citizen")
async def citizen_history(
    conversation_id: str, officer: CurrentOfficer, session: SessionDep
) -> CitizenHistory:
    """The citizen panel: this channel identity's earlier hand-overs and complaint cases."""
    with as_http():
        return await inbox.citizen_history(session, officer, conversation_id)


@router.post("/conversations/{conversation_id}/claim")
async def claim(conversation_id: str, officer: CurrentOfficer, desk: OfficerDeskDep) -> ConversationStatus:
    with as_http():
        return _state(await service.claim(desk, officer, conversation_id))


@router.post("/conversations/{conversation_id}/messages", status_code=status.HTTP_202_ACCEPTED)
async def reply(
    conversation_id: str, body: ReplyRequest, officer: CurrentOfficer, desk: OfficerDeskDep
) -> MessageAccepted:
    with as_http():
        message = await service.reply(desk, officer, conversation_id, body.text)
    return MessageAccepted(message_id=str(message.id))


@router.post(
    "/conversations/{conversation_id}/messages/{message_id}/resend", status_code=status.HTTP_202_ACCEPTED
)
async def resend(
    conversation_id: str, message_id: str, officer: CurrentOfficer, desk: OfficerDeskDep
) -> MessageAccepted:
    if not message_id.isdigit():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such message")
    with as_http():
        message = await service.resend(desk, officer, conversation_id, int(message_id))
    return MessageAccepted(message_id=str(message.id))


@router.post("/conversations/{conversation_id}/transfer")
async def transfer(
    conversation_id: str, body: TransferRequest, officer: CurrentOfficer, desk: OfficerDeskDep
) -> ConversationStatus:
    with as_http():
        return _state(await service.transfer(desk, officer, conversation_id, body.department, body.note))


@router.post("/conversations/{conversation_id}/resolve")
async def resolve(conversation_id: str, officer: CurrentOfficer, desk: OfficerDeskDep) -> ConversationStatus:
    with as_http():
        return _state(await service.resolve(desk, officer, conversation_id))


@router.post("/conversations/{conversation_id}/notes", status_code=status.HTTP_201_CREATED)
async def add_note(
    conversation_id: str, body: NoteRequest, officer: CurrentOfficer, desk: OfficerDeskDep
) -> Note:
    with as_http():
        note = await service.add_note(desk, officer, conversation_id, body.text)
    return service.note_view(note, officer.username)


@router.post("/conversations/{conversation_id}/assign")
async def assign(
    conversation_id: str, body: AssignRequest, officer: CurrentOfficer, desk: OfficerDeskDep
) -> ConversationStatus:
    with as_http():
        return _state(await service.assign(desk, officer, conversation_id, body.officer_id))


@router.get(
    "/conversations/{conversation_id}/attachments/{message_id}/{index}",
    response_class=FileResponse,
    responses={
        200: {"description": "The file, as the citizen sent it", "content": {"application/octet-stream": {}}}
    },
)
async def attachment(
    conversation_id: str,
    message_id: int,
    index: int,
    officer: CurrentOfficer,
    services: ServicesDep,
    session: SessionDep,
) -> FileResponse:
    """The hub's copy of a file the citizen sent (reading it is audited: it is personal data)."""
    with as_http():
        path, content_type, filename = await views.stored_attachment(
            services.settings.var_dir, session, officer, conversation_id, message_id, index
        )
    await service.record_access(
        OfficerDesk.of(services), officer, conversation_id, {"message_id": str(message_id), "index": index}
    )
    media_type, disposition = attachment_delivery(content_type)
    return FileResponse(
        path,
        media_type=media_type,
        filename=filename,
        content_disposition_type=disposition,
        headers={"Cache-Control": "no-store", "Content-Security-Policy": "sandbox"},
    )


@router.get("/canned")
async def canned(officer: CurrentOfficer, services: ServicesDep) -> CannedReplies:
    replies = views.canned_replies(services.kb.store.current, services.responses.source_label, officer)
    return CannedReplies(replies=replies)


def include_officer_routers(app: FastAPI) -> None:
    """The officer and admin APIs, the console's WebSocket and its page."""
    from app.officers import admin_routes, console, live

    app.include_router(router)
    app.include_router(auth.router)
    app.include_router(admin_routes.router)
    app.include_router(live.router)
    app.include_router(console.router)
