"""The web-chat channel: messages are stored by the hub and pushed over its WebSocket.

Delivery needs no outside platform: a stored outbound message is already visible to
``GET .../messages`` and was published to the session's WebSocket when it was stored, so
``send`` only confirms it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence

from channels.base import Channel, InboundMessage, OutboundMessage, SendResult


class WebchatAdapter:
    name = Channel.WEBCHAT
    max_batch = 20

    def __init__(self, on_processing: Callable[[str], Awaitable[None]] | None = None) -> None:
        # Called with the session id when the bot is preparing an answer (the widget's "typing").
        self._on_processing = on_processing

    async def send(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        return [SendResult(message_id=m.message_id, via="websocket") for m in messages]

    async def show_processing(self, message: InboundMessage) -> None:
        if self._on_processing is not None:
            await self._on_processing(message.user_id)

    def officer_reply_refusal(self, last_inbound_at: dt.datetime | None, now: dt.datetime) -> str | None:
        return None

    async def aclose(self) -> None:
        return None
