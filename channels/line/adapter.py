"""The LINE Official Account channel: verify and parse webhooks, reply or push, fetch content.

Calls go through line-bot-sdk v3 (``AsyncMessagingApi`` on ``LINE_API_BASE_URL``,
``AsyncMessagingApiBlob`` on ``LINE_DATA_API_BASE_URL``); the SDK sets ``X-Line-Retry-Key``
itself (``push_message(..., x_line_retry_key=...)``), so no hand-made HTTP is needed.

Delivery rules:
- A reply token is single-use and lives about a minute: one ``send`` batch (<= 5 messages of
  one chat) goes out as one reply while a token of the batch is fresh.
- Otherwise, or when LINE answers "Invalid reply token", every message is pushed on its own
  with its ``retry_key`` as ``X-Line-Retry-Key``: a retry after a timeout is answered 409
  ("already accepted") instead of being sent twice, and a partly pushed batch can be retried.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import aiohttp
from linebot.v3.messaging import (
    ApiException,
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    ShowLoadingAnimationRequest,
)
from linebot.v3.webhook import SignatureValidator

from channels.base import (
    POSTBACK_HUMAN,
    Channel,
    FinalSendError,
    InboundMessage,
    OutboundMessage,
    RetryableSendError,
    SendResult,
    SignatureError,
)
from channels.line.content import LineContentStore
from channels.line.events import parse_body
from channels.line.messages import LineLabels, LineMessage, build_messages, push_request, reply_request
from channels.proxy import environment_proxy

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "x-line-signature"
ACCEPTED_REQUEST_HEADER = "x-line-accepted-request-id"
_TRANSIENT = (aiohttp.ClientError, TimeoutError)
# Connections to one LINE host at once. The SDK's default is five per CPU (ten here), which
# would cap replies at about 100/s with LINE answering in 100 ms.
MAX_CONNECTIONS = 100


class _ReplyTokenRejected(Exception):
    """LINE says the token is used, expired or unknown: push instead."""


class LineAdapter:
    name = Channel.LINE
    max_batch = 5  # LINE accepts at most five messages per reply or push

    def __init__(
        self,
        *,
        channel_secret: str,
        access_token: str,
        api_base_url: str,
        data_api_base_url: str,
        labels: LineLabels,
        var_dir: Path,
        postback_texts: Mapping[str, str] | None = None,
        config_errors: dict[str, str] | None = None,
        timeout_seconds: float = 10.0,
        loading_seconds: int = 20,
        max_download_bytes: int = 20 * 1024 * 1024,
        download_attempts: int = 3,
    ) -> None:
        self._validator = SignatureValidator(channel_secret)
        self._secret = channel_secret.encode("utf-8")
        self._access_token = access_token
        self._api_base_url = api_base_url.rstrip("/")
        self._data_api_base_url = data_api_base_url.rstrip("/")
        self.labels = labels
        # The transcript shows what a tapped button said; LINE sends only its data.
        self.postback_texts = {POSTBACK_HUMAN: labels.human, **(postback_texts or {})}
        self._config_errors = config_errors if config_errors is not None else {}
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._loading_seconds = loading_seconds
        self._content = LineContentStore(
            self._data,
            var_dir,
            timeout=self._timeout,
            max_bytes=max_download_bytes,
            attempts=download_attempts,
        )
        self._api_client: Any = None
        self._data_client: Any = None

    # -- inbound ---------------------------------------------------------------------------

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[InboundMessage]:
        signature = _header(headers, SIGNATURE_HEADER)
        if not signature:
            raise SignatureError("missing X-Line-Signature")
        if not self._signature_matches(body, signature):
            raise SignatureError("X-Line-Signature does not match the body")
        return parse_body(body, self.postback_texts)

    def answer_subscription_check(self, query: Mapping[str, str]) -> str | None:
        return None  # LINE checks a webhook URL with a signed POST of no events

    async def after_stored(self, stored: Sequence[InboundMessage]) -> None:
        return None

    def _signature_matches(self, body: bytes, signature: str) -> bool:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            # The SDK validator takes text; bytes that are not UTF-8 are checked the same way here.
            expected = base64.b64encode(hmac.new(self._secret, body, hashlib.sha256).digest())
            return hmac.compare_digest(signature.encode("utf-8", "replace"), expected)
        return bool(self._validator.validate(text, signature))

    # -- outbound --------------------------------------------------------------------------

    async def send(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        if not messages:
            return []
        token = _fresh_reply_token(messages, dt.datetime.now(dt.UTC))
        if token is not None:
            try:
                return await self._reply(token, messages)
            except _ReplyTokenRejected:
                log.info("line_reply_token_rejected", extra={"messages": [m.message_id for m in messages]})
        return [await self._push(message) for message in messages]

    async def _reply(self, token: str, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        api = AsyncMessagingApi(self._api())

        async def call(built: list[LineMessage]) -> Any:
            return await api.reply_message(reply_request(token, built), _request_timeout=self._timeout)

        try:
            response = await self._with_plain_fallback(messages, call)
        except ApiException as error:
            if error.status == 400 and "invalid reply token" in _error_message(error).lower():
                raise _ReplyTokenRejected from error
            raise self._send_error(error) from error
        except _TRANSIENT as error:
            raise RetryableSendError(f"LINE reply failed: {type(error).__name__}") from error
        sent = list(getattr(response, "sent_messages", None) or [])
        return [
            SendResult(m.message_id, "reply", sent[i].id if i < len(sent) else None)
            for i, m in enumerate(messages)
        ]

    async def _push(self, message: OutboundMessage) -> SendResult:
        api = AsyncMessagingApi(self._api())

        async def call(built: list[LineMessage]) -> Any:
            return await api.push_message(
                push_request(message.user_id, built),
                x_line_retry_key=message.retry_key or None,
                _request_timeout=self._timeout,
            )

        try:
            response = await self._with_plain_fallback([message], call)
        except ApiException as error:
            if error.status == 409 and _already_accepted(error):
                # An earlier attempt with this retry key went through (we missed its answer).
                log.info("line_push_already_accepted", extra={"message_id": message.message_id})
                return SendResult(message.message_id, "push", _accepted_id(error))
            raise self._send_error(error) from error
        except _TRANSIENT as error:
            raise RetryableSendError(f"LINE push failed: {type(error).__name__}") from error
        sent = list(getattr(response, "sent_messages", None) or [])
        return SendResult(message.message_id, "push", sent[0].id if sent else None)

    async def _with_plain_fallback(
        self, messages: Sequence[OutboundMessage], call: Callable[[list[LineMessage]], Awaitable[Any]]
    ) -> Any:
        """Send; if LINE rejects a FAQ card as invalid, send the same content as plain text."""
        try:
            return await call(build_messages(messages, self.labels))
        except ApiException as error:
            message = _error_message(error).lower()
            if error.status != 400 or "reply token" in message or not any(m.faq for m in messages):
                raise
            log.warning("line_rich_message_rejected", extra={"reason": _error_message(error)[:200]})
            return await call(build_messages(messages, self.labels, rich=False))

    def _send_error(self, error: ApiException) -> Exception:
        status = int(error.status or 0)
        detail = _error_message(error)
        reason = f"LINE API {status}: {detail}"[:500]
        if status == 429 and "monthly limit" in detail.lower():
            self._config_errors["line"] = "LINE monthly message quota reached"
            return FinalSendError(reason, config_error=True)
        if status == 429 or status >= 500:
            return RetryableSendError(reason, retry_after=_retry_after(error))
        if status in (401, 403):
            self._config_errors["line"] = f"LINE rejected the channel access token ({status})"
            return FinalSendError(reason, config_error=True)
        return FinalSendError(reason, user_unreachable=status == 404 or _names_recipient(error))

    async def show_processing(self, message: InboundMessage) -> None:
        """The loading animation exists for one-to-one chats only; failing to show it is harmless."""
        if message.group_id is not None:
            return
        request = ShowLoadingAnimationRequest(chat_id=message.user_id, loading_seconds=self._loading_seconds)
        try:
            await AsyncMessagingApi(self._api()).show_loading_animation(
                request, _request_timeout=aiohttp.ClientTimeout(total=3)
            )
        except (ApiException, *_TRANSIENT) as error:
            log.info("line_loading_animation_failed", extra={"error": type(error).__name__})

    def officer_reply_refusal(self, last_inbound_at: dt.datetime | None, now: dt.datetime) -> str | None:
        return None  # LINE lets the account push to a friend at any time

    # -- content ---------------------------------------------------------------------------

    async def fetch_attachments(
        self, conversation_id: str, attachments: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """Download images and files a citizen sent and keep them under ``var/attachments/line``."""
        return await self._content.fetch_attachments(conversation_id, attachments)

    async def discard_attachments(self, attachments: Sequence[Mapping[str, Any]]) -> None:
        await self._content.discard_attachments(attachments)

    # -- clients ---------------------------------------------------------------------------

    def _api(self) -> Any:
        # Built on first use: the SDK's aiohttp session needs the running event loop.
        if self._api_client is None:
            self._api_client = new_api_client(self._api_base_url, self._access_token)
        return self._api_client

    def _data(self) -> Any:
        if self._data_client is None:
            self._data_client = new_api_client(self._data_api_base_url, self._access_token)
        return self._data_client

    async def aclose(self) -> None:
        for client in (self._api_client, self._data_client):
            if client is not None:
                await client.close()
        self._api_client = self._data_client = None


def new_api_client(host: str, access_token: str) -> AsyncApiClient:
    """The SDK's client, with the proxy settings read once instead of on every request.

    The SDK's aiohttp session trusts the environment, so aiohttp looks up the proxy variables
    and reads ``~/.netrc`` in a worker thread before every call: a tenth of the hub's CPU under
    load. Here the proxy is resolved when the client is built (``channels/proxy.py``), and the
    session is one that does not look again.
    """
    config = Configuration(host=host, access_token=access_token)
    config.connection_pool_maxsize = MAX_CONNECTIONS
    config.proxy = environment_proxy(host)
    client = AsyncApiClient(config)
    rest = client.rest_client
    connector = rest.pool_manager.connector
    rest.pool_manager.detach()  # hands its connector over without closing it
    rest.pool_manager = aiohttp.ClientSession(connector=connector, trust_env=False)
    return client


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value


def _fresh_reply_token(messages: Sequence[OutboundMessage], now: dt.datetime) -> str | None:
    """Any fresh token of the batch will do: tokens are per chat, and a reply carries five messages."""
    for message in messages:
        context = message.reply_context
        if context is not None and context.usable_at(now):
            return context.token
    return None


def _error_body(error: ApiException) -> dict[str, Any]:
    body = error.body
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", "replace")
    try:
        data = json.loads(body) if body else {}
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _error_message(error: ApiException) -> str:
    return str(_error_body(error).get("message") or error.reason or "")


def _response_header(error: ApiException, name: str) -> str | None:
    headers = error.headers or {}
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if str(k).lower() == name), None)
    return str(value) if value is not None else None


def _already_accepted(error: ApiException) -> bool:
    return _response_header(error, ACCEPTED_REQUEST_HEADER) is not None or (
        "retry key" in _error_message(error).lower()
    )


def _accepted_id(error: ApiException) -> str | None:
    sent = _error_body(error).get("sentMessages")
    if isinstance(sent, list) and sent and isinstance(sent[0], dict) and sent[0].get("id"):
        return str(sent[0]["id"])
    return None


def _names_recipient(error: ApiException) -> bool:
    details = _error_body(error).get("details")
    return isinstance(details, list) and any(
        isinstance(d, dict) and d.get("property") == "to" for d in details
    )


def _retry_after(error: ApiException) -> float | None:
    value = _response_header(error, "retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
