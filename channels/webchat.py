"""The web-chat channel: messages are stored by the hub and pushed over its WebSocket.

Delivery needs no outside platform: a stored outbound message is already visible to
``GET .../messages`` and was published to the session's WebSocket when it was stored, so
``send`` only confirms it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from channels.base import Channel, InboundMessage, OutboundMessage, SendResult


class WebchatAdapter:
    name = Channel.WEBCHAT
    max_batch = 20

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[InboundMessage]:
        raise NotImplementedError("web chat has its own API, not a webhook")

    async def send(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        return [SendResult(message_id=m.message_id, via="websocket") for m in messages]

    async def show_processing(self, message: InboundMessage) -> None:
        return None

    def officer_reply_refusal(self, last_inbound_at: dt.datetime | None, now: dt.datetime) -> str | None:
        return None

    async def aclose(self) -> None:
        return None
