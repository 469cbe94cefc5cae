"""``POST /webhooks/<channel>`` for every webhook channel, and ``GET`` where the platform checks
its subscription: verify, parse, store every event in one transaction, answer 200.

The channel's adapter verifies and parses (``WebhookReceiver`` in ``channels/base.py``); this
module is the one place that turns its errors into statuses. Nothing is answered here: a worker
handles the stored events (LINE stops waiting after a few seconds and redelivers; a redelivered
event is stored once, by its dedupe key). Courtesies such as Messenger's "seen" receipt go out
after the response: they are not replies.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, BackgroundTasks, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from app.channel_setup import WEBHOOK_CHANNELS
from app.deps import ServicesDep
from app.services import Services
from app.webhooks.storing import store_events
from channels.base import (
    ChannelNotConfigured,
    PayloadError,
    SignatureError,
    WebhookError,
    WebhookReceiver,
    WebhookSpec,
)

log = logging.getLogger(__name__)

ERROR_STATUSES: dict[type[WebhookError], int] = {
    SignatureError: 401,  # nothing is stored
    PayloadError: 400,  # signed, but not JSON or not the platform's schema: nothing is stored
    ChannelNotConfigured: 503,
}


def webhook_router() -> APIRouter:
    router = APIRouter(tags=["webhooks"])
    for spec in WEBHOOK_CHANNELS:
        path = f"/webhooks/{spec.channel.value}"
        router.add_api_route(path, _receive_events(spec), methods=["POST"], name=f"{spec.channel}_webhook")
        if spec.subscription_check:
            router.add_api_route(
                path,
                _check_subscription(spec),
                methods=["GET"],
                response_class=PlainTextResponse,
                name=f"{spec.channel}_subscription_check",
            )
    return router


def _receive_events(spec: WebhookSpec) -> Callable[..., Awaitable[JSONResponse]]:
    async def receive_events(
        request: Request, services: ServicesDep, background: BackgroundTasks
    ) -> JSONResponse:
        receiver = _receiver(services, spec)
        if receiver is None:
            return _problem(spec, ChannelNotConfigured(spec.not_configured))
        body = await request.body()
        try:
            events = receiver.parse_webhook(body, request.headers)
        except WebhookError as error:
            return _problem(spec, error)
        stored = await store_events(services, events)
        if stored:
            background.add_task(receiver.after_stored, stored)
        return JSONResponse({"status": "ok", "stored": len(stored)})

    return receive_events


def _check_subscription(spec: WebhookSpec) -> Callable[..., Awaitable[Response]]:
    async def check_subscription(request: Request, services: ServicesDep) -> Response:
        """The platform's subscription check: echo its challenge when it names our verify token."""
        receiver = _receiver(services, spec)
        if receiver is None:
            return _problem(spec, ChannelNotConfigured(spec.not_configured))
        answer = receiver.answer_subscription_check(request.query_params)
        if answer is None:
            return PlainTextResponse("verification failed", status_code=403)
        return PlainTextResponse(answer)

    return check_subscription


def _receiver(services: Services, spec: WebhookSpec) -> WebhookReceiver | None:
    adapter = services.adapters.get(spec.channel)
    return adapter if isinstance(adapter, WebhookReceiver) else None


def _problem(spec: WebhookSpec, error: WebhookError) -> JSONResponse:
    status = next((code for kind, code in ERROR_STATUSES.items() if isinstance(error, kind)), 400)
    reason = str(error) or (spec.not_configured if status == 503 else type(error).__name__)
    if status != 503:
        log.warning(
            "webhook_refused", extra={"channel": spec.channel.value, "status": status, "reason": reason}
        )
    return JSONResponse({"detail": reason}, status_code=status)
