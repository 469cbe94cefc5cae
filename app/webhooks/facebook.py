"""``GET``/``POST /webhooks/facebook``: the subscription check, then verify -> store -> 200.

The POST answers only after every event of the batch is durably stored (once per dedupe key);
a worker handles them later, so no reply is ever sent inside the request. The "seen" receipt
for what the citizen sent goes out after the response (it is not a reply, only a courtesy).
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, HTTPException, Query, Request, status
from fastapi.responses import PlainTextResponse

from app.deps import ServicesDep
from app.services import Services
from app.webhooks.storing import CITIZEN_MESSAGES, store_events
from channels.base import (
    Channel,
    ChannelNotConfigured,
    InboundMessage,
    PayloadError,
    SignatureError,
)
from channels.facebook import MessengerAdapter

router = APIRouter(tags=["webhooks"])
log = logging.getLogger(__name__)
NOT_CONFIGURED = (
    "Messenger is not configured (FACEBOOK_APP_SECRET, FACEBOOK_VERIFY_TOKEN, FACEBOOK_PAGE_ACCESS_TOKEN)"
)


def _adapter(services: Services) -> MessengerAdapter:
    adapter = services.adapters.get(Channel.FACEBOOK)
    if not isinstance(adapter, MessengerAdapter):
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, NOT_CONFIGURED)
    return adapter


@router.get("/webhooks/facebook", response_class=PlainTextResponse)
async def verify_subscription(
    services: ServicesDep,
    mode: Annotated[str | None, Query(alias="hub.mode")] = None,
    verify_token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge")] = None,
) -> PlainTextResponse:
    """Meta's subscription check: echo ``hub.challenge`` when the verify token matches."""
    adapter = _adapter(services)
    answer = adapter.verify_subscription(mode, verify_token, challenge)
    if answer is None:
        return PlainTextResponse("verification failed", status_code=status.HTTP_403_FORBIDDEN)
    return PlainTextResponse(answer)


@router.post("/webhooks/facebook")
async def receive_events(
    request: Request, services: ServicesDep, background: BackgroundTasks
) -> dict[str, int | str]:
    adapter = _adapter(services)
    body = await request.body()
    try:
        events = adapter.parse_webhook(body, request.headers)
    except SignatureError as error:
        log.warning("facebook_webhook_rejected", extra={"reason": str(error)})
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(error)) from None
    except PayloadError as error:
        log.warning("facebook_webhook_bad_payload", extra={"reason": str(error)})
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None
    except ChannelNotConfigured as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error) or NOT_CONFIGURED) from None
    stored = await store_events(services, events)
    for user_id in _to_mark_seen(stored):
        background.add_task(adapter.mark_seen, user_id)
    return {"status": "ok", "stored": len(stored)}


def _to_mark_seen(stored: list[InboundMessage]) -> list[str]:
    """Citizens whose new message is ours to answer (not while another app holds the thread)."""
    users = (event.user_id for event in stored if event.addressed and event.kind in CITIZEN_MESSAGES)
    return list(dict.fromkeys(users))
