"""The Facebook Messenger channel: verify and parse webhooks, send through the Send API.

Plain HTTP (aiohttp) against the Graph API (``channels/facebook/graph.py``); no SDK.

Messaging windows (Messenger Platform "Send a message" and message tags):
- Within 24 hours of the citizen's last message anything may be sent as ``messaging_type: RESPONSE``.
- From 24 hours to 7 days only a person may write, as ``MESSAGE_TAG`` with ``tag: HUMAN_AGENT``;
  bot messages never carry that tag, so a bot message that late fails with a clear reason.
- After 7 days nothing may be sent: ``officer_reply_refusal`` says why before an officer's reply
  is accepted, and ``send`` refuses again should the reply have waited in the outbox meanwhile.
A few minutes of margin keep a message queued near a boundary from crossing it in flight.

Errors (Graph API error codes): 5xx, HTTP 429 and the rate limits 4, 17, 32, 613 (and the
temporary 1, 2, 1200) are retried by the delivery worker with back-off; 190 (invalid token)
is a configuration error shown by ``/readyz``; 551 and the "no such person / not receiving"
subcodes mark the citizen unreachable; anything else fails the message.

One message may take two Send API calls (a long FAQ answer: text, then the button template).
The parts already accepted are remembered per message for a while, so a retry after the second
part failed does not send the first again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from channels.base import (
    CITIZEN_KINDS,
    Channel,
    FinalSendError,
    InboundMessage,
    OutboundMessage,
    RetryableSendError,
    SendResult,
    SignatureError,
)
from channels.facebook.events import parse_body
from channels.facebook.graph import GraphApiError, GraphClient, GraphUnavailable
from channels.facebook.messages import MessengerLabels, build_parts

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "x-hub-signature-256"
SIGNATURE_PREFIX = "sha256="
CONFIG_ERROR_KEY = "facebook"
STANDARD_WINDOW = dt.timedelta(hours=24)
HUMAN_AGENT_WINDOW = dt.timedelta(days=7)
WINDOW_MARGIN = dt.timedelta(minutes=5)
BANGKOK = dt.timezone(dt.timedelta(hours=7), "ICT")

INVALID_TOKEN = 190
UNREACHABLE = 551
RATE_LIMITS = frozenset({4, 17, 32, 613})
TEMPORARY = frozenset({1, 2, 1200})
# 2018001 no matching user, 2018108 the person is not receiving messages from the Page now,
# 1545041 the person is not available (deactivated, blocked).
UNREACHABLE_SUBCODES = frozenset({2018001, 2018108, 1545041})
OUTSIDE_WINDOW_SUBCODES = frozenset({2018278, 2018065})
_REMEMBERED_PARTS = 1000

# Shown to the officer (Thai, then English) when Messenger no longer lets the Page write.
REFUSAL_AFTER_7_DAYS = (
    "ส่งไม่ได้: Messenger ให้ตอบได้ภายใน 7 วันหลังข้อความล่าสุดของประชาชนเท่านั้น "
    "(ข้อความล่าสุด {last} เวลาประเทศไทย) กรุณาติดต่อทางช่องทางอื่น หรือรอให้ประชาชนส่งข้อความมาใหม่ / "
    "Cannot send: Messenger allows replies only within 7 days of the citizen's last message "
    "(last message {last} Thai time); contact the citizen another way or wait until they write again."
)
REFUSAL_NO_MESSAGE = (
    "ส่งไม่ได้: ประชาชนยังไม่เคยส่งข้อความทาง Messenger / Cannot send: the citizen has not written on Messenger yet."
)
BOT_OUTSIDE_WINDOW = (
    "Messenger allows bot messages only within 24 hours of the citizen's last message "
    "(HUMAN_AGENT is for officers)"
)


class MessengerAdapter:
    name = Channel.FACEBOOK
    # The Send API takes one message per call: a batch of one never re-sends an accepted neighbour.
    max_batch = 1

    def __init__(
        self,
        *,
        app_secret: str,
        verify_token: str,
        page_access_token: str,
        graph_api_base_url: str,
        labels: MessengerLabels,
        config_errors: dict[str, str] | None = None,
        timeout_seconds: float = 10.0,
        sender_action_timeout_seconds: float = 3.0,
    ) -> None:
        self._app_secret = app_secret.encode("utf-8")
        self._verify_token = verify_token.encode("utf-8")
        self.labels = labels
        self.graph = GraphClient(
            base_url=graph_api_base_url,
            access_token=page_access_token,
            app_secret=app_secret,
            timeout_seconds=timeout_seconds,
        )
        self._config_errors = config_errors if config_errors is not None else {}
        self._sender_action_timeout = sender_action_timeout_seconds
        self._parts_sent: OrderedDict[str, int] = OrderedDict()

    # -- inbound ---------------------------------------------------------------------------

    def answer_subscription_check(self, query: Mapping[str, str]) -> str | None:
        """Meta's ``GET ?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C``: ``C`` when ``T`` is ours."""
        mode, token, challenge = (query.get(f"hub.{name}") for name in ("mode", "verify_token", "challenge"))
        if mode != "subscribe" or token is None or challenge is None:
            return None
        if not hmac.compare_digest(token.encode("utf-8"), self._verify_token):
            return None
        return challenge

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[InboundMessage]:
        signature = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER), None)
        if not signature:
            raise SignatureError("missing X-Hub-Signature-256")
        if not self.signature_matches(body, signature):
            raise SignatureError("X-Hub-Signature-256 does not match the body")
        return parse_body(body)

    def signature_matches(self, body: bytes, signature: str) -> bool:
        """HMAC-SHA256 of the raw bytes with the app secret, compared in constant time."""
        expected = SIGNATURE_PREFIX + hmac.new(self._app_secret, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(signature.strip().encode("utf-8", "replace"), expected.encode("ascii"))

    # -- outbound --------------------------------------------------------------------------

    async def send(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        now = dt.datetime.now(dt.UTC)
        return [await self._send_one(message, now) for message in messages]

    async def _send_one(self, message: OutboundMessage, now: dt.datetime) -> SendResult:
        envelope = self._envelope(message, now)
        try:
            parts = build_parts(message, self.labels)
        except ValueError as error:
            raise FinalSendError(f"nothing to send: {error}") from None
        key = message.retry_key or message.message_id
        already = self._parts_sent.get(key, 0)
        platform_id: str | None = None
        for index, part in enumerate(parts):
            if index < already:
                continue
            answer = await self._call("/me/messages", {**envelope, "message": part})
            platform_id = str(answer["message_id"]) if answer.get("message_id") else platform_id
            self._remember_parts(key, index + 1)
        self._parts_sent.pop(key, None)
        return SendResult(message.message_id, "send", platform_id)

    def _envelope(self, message: OutboundMessage, now: dt.datetime) -> dict[str, Any]:
        """Recipient and messaging type for this message now (or why it may not be sent)."""
        envelope: dict[str, Any] = {"recipient": {"id": message.user_id}, "messaging_type": "RESPONSE"}
        last = message.last_inbound_at
        late = last is not None and now - last >= STANDARD_WINDOW - WINDOW_MARGIN
        if message.sender == "officer":
            refusal = self.officer_reply_refusal(last, now)
            if refusal is not None:
                raise FinalSendError(refusal)
            if late:
                envelope.update(messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")
        elif late:
            raise FinalSendError(BOT_OUTSIDE_WINDOW)
        return envelope

    def _remember_parts(self, key: str, count: int) -> None:
        self._parts_sent[key] = count
        self._parts_sent.move_to_end(key)
        while len(self._parts_sent) > _REMEMBERED_PARTS:
            self._parts_sent.popitem(last=False)

    async def _call(self, path: str, body: dict[str, Any], *, timeout: float | None = None) -> dict[str, Any]:
        try:
            answer = await self.graph.post(path, body, timeout=timeout)
        except GraphUnavailable as error:
            raise RetryableSendError(f"Graph API {path}: {error}") from None
        except GraphApiError as error:
            raise self._send_error(error) from None
        if self._config_errors.pop(CONFIG_ERROR_KEY, None) is not None:
            log.info("facebook_token_works_again")
        return answer

    def _send_error(self, error: GraphApiError) -> RetryableSendError | FinalSendError:
        code, subcode = error.code, error.subcode
        reason = f"Messenger error {code}" + (f"/{subcode}" if subcode else "") + f": {error.message}"
        reason = reason[:200]
        if code == INVALID_TOKEN:
            self._config_errors[CONFIG_ERROR_KEY] = (
                f"Facebook rejected the Page access token (error 190): {error.message}"[:300]
            )
            log.error("facebook_token_invalid", extra={"subcode": subcode, "fbtrace_id": error.fbtrace_id})
            return FinalSendError(reason, config_error=True)
        if error.status == 429 or error.status >= 500 or code in RATE_LIMITS or code in TEMPORARY:
            return RetryableSendError(reason, retry_after=error.retry_after)
        if code == UNREACHABLE or subcode in UNREACHABLE_SUBCODES:
            return FinalSendError(reason, user_unreachable=True)
        if subcode in OUTSIDE_WINDOW_SUBCODES:
            return FinalSendError(f"outside Messenger's messaging window: {reason}"[:200])
        log.warning(
            "facebook_send_rejected",
            extra={"status": error.status, "code": code, "subcode": subcode, "fbtrace_id": error.fbtrace_id},
        )
        return FinalSendError(reason)

    # -- sender actions --------------------------------------------------------------------

    async def show_processing(self, message: InboundMessage) -> None:
        """The typing bubble while the answer is prepared; harmless when it fails."""
        if message.addressed:
            await self._sender_action(message.user_id, "typing_on")

    async def after_stored(self, stored: Sequence[InboundMessage]) -> None:
        """The "seen" receipt for each citizen whose new message is ours to answer (not while
        another app holds the thread)."""
        users = (event.user_id for event in stored if event.addressed and event.kind in CITIZEN_KINDS)
        for user_id in dict.fromkeys(users):
            await self.mark_seen(user_id)

    async def mark_seen(self, user_id: str) -> None:
        """The "seen" receipt for a message just stored; harmless when it fails."""
        await self._sender_action(user_id, "mark_seen")

    async def _sender_action(self, user_id: str, action: str) -> None:
        body = {"recipient": {"id": user_id}, "sender_action": action}
        try:
            await self._call("/me/messages", body, timeout=self._sender_action_timeout)
        except (RetryableSendError, FinalSendError) as error:
            log.info("facebook_sender_action_failed", extra={"action": action, "reason": error.reason})

    def officer_reply_refusal(self, last_inbound_at: dt.datetime | None, now: dt.datetime) -> str | None:
        if last_inbound_at is None:
            return REFUSAL_NO_MESSAGE
        if now - last_inbound_at >= HUMAN_AGENT_WINDOW - WINDOW_MARGIN:
            last = last_inbound_at.astimezone(BANGKOK).strftime("%Y-%m-%d %H:%M")
            return REFUSAL_AFTER_7_DAYS.format(last=last)
        return None

    async def aclose(self) -> None:
        await self.graph.aclose()
