"""What the webhook route does with a verified batch: store it once, count it, wake a worker."""

from __future__ import annotations

import logging

from app.services import Services
from channels.base import CITIZEN_KINDS, InboundKind, InboundMessage

log = logging.getLogger(__name__)


async def store_events(services: Services, events: list[InboundMessage]) -> list[InboundMessage]:
    """Store the batch (committed before this returns); returns the events that were new (not redeliveries)."""
    if not events:
        return []
    accepted = await services.intake.store(events)
    stored = [
        event for event, result in zip(events, accepted, strict=True) if result.work_item_id is not None
    ]
    if len(stored) < len(events):
        log.info("webhook_events_duplicate", extra={"count": len(events) - len(stored)})
    for event in stored:
        if event.kind in CITIZEN_KINDS:
            services.metrics.messages_in.labels(event.channel.value).inc()
        elif event.kind == InboundKind.IGNORED:
            log.info("webhook_event_ignored", extra={"event_type": event.event_type})
    if any(event.kind != InboundKind.IGNORED for event in stored):
        services.workers.notify_work()
    return stored
