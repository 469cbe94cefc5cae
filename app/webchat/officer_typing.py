"""``POST /api/officer/conversations/{id}/typing``: an officer is typing a reply.

The console calls it while the officer types (at most every few seconds); a web-chat citizen
then sees "เจ้าหน้าที่กำลังพิมพ์…" for ``OFFICER_TYPING_SECONDS`` after the last call, or until
the reply arrives. Other channels have no such signal for officers, so it changes nothing there.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status

from app.deps import ServicesDep, SessionDep
from app.officers import access, repository
from app.officers.auth import CurrentOfficer
from app.webchat.typing_events import officer_typing
from channels.base import Channel

router = APIRouter(prefix="/api/officer", tags=["officer"])


@router.post(
    "/conversations/{conversation_id}/typing", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def typing(
    conversation_id: str, officer: CurrentOfficer, services: ServicesDep, session: SessionDep
) -> Response:
    conversation = await repository.get_conversation(session, conversation_id)
    if conversation is None or not access.can_see(officer, conversation):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such conversation in your departments")
    if conversation.channel == Channel.WEBCHAT:
        await officer_typing(services.bus, conversation.id, active=True)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
