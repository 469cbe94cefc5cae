"""``POST /webhooks/line``: verify, parse, store every event in one transaction, answer 200.

Nothing is answered here: a worker handles the stored events (LINE stops waiting after a
few seconds and redelivers; a redelivered event is stored once, by ``webhookEventId``).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.conversations.intake import store_inbound_batch
from app.deps import ServicesDep
from channels.base import (
    Channel,
    ChannelNotConfigured,
    InboundKind,
    PayloadError,
    SignatureError,
)

router = APIRouter(tags=["webhooks"])
log = logging.getLogger(__name__)


@router.post("/webhooks/line")
async def line_webhook(request: Request, services: ServicesDep) -> JSONResponse:
    adapter = services.adapters.get(Channel.LINE)
    if adapter is None:
        return _problem(503, "LINE channel is not configured")
    body = await request.body()
    try:
        events = adapter.parse_webhook(body, request.headers)
    except SignatureError as error:
        log.warning("line_webhook_rejected", extra={"reason": str(error)})
        return _problem(401, str(error))
    except PayloadError as error:
        log.warning("line_webhook_bad_payload", extra={"reason": str(error)})
        return _problem(400, str(error))
    except ChannelNotConfigured as error:
        return _problem(503, str(error))
    if not events:
        return JSONResponse({})  # the console's "Verify" request
    async with services.sessionmaker() as session, session.begin():
        accepted = await store_inbound_batch(session, events)
    new = [e for e, a in zip(events, accepted, strict=True) if a.work_item_id is not None]
    for event in new:
        if event.kind == InboundKind.IGNORED:
            log.info("line_event_ignored", extra={"event_type": event.event_type})
        elif event.kind in (InboundKind.TEXT, InboundKind.ATTACHMENT, InboundKind.POSTBACK):
            services.metrics.messages_in.labels(Channel.LINE).inc()
    if len(new) < len(events):
        log.info("line_events_duplicate", extra={"count": len(events) - len(new)})
    if any(e.kind != InboundKind.IGNORED for e in new):
        services.workers.notify_work()
    return JSONResponse({})


def _problem(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"detail": reason}, status_code=status)
