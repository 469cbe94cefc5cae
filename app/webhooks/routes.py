"""``POST /webhooks/line``: verify, parse, store every event in one transaction, answer 200.

Nothing is answered here: a worker handles the stored events (LINE stops waiting after a
few seconds and redelivers; a redelivered event is stored once, by ``webhookEventId``).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.deps import ServicesDep
from app.webhooks.storing import store_events
from channels.base import (
    Channel,
    ChannelNotConfigured,
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
    await store_events(services, events)
    return JSONResponse({})


def _problem(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"detail": reason}, status_code=status)
