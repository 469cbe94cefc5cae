"""The small interface every channel adapter implements, and the values that cross it.

Each channel is one package (``channels/line/``, ``channels/facebook/``, ``channels/webchat/``).
A platform that posts webhooks is described by a ``WebhookSpec`` (its package's ``WEBHOOK``) and
its adapter is a ``WebhookReceiver``: the hub's one webhook route (``app/webhooks/routes.py``)
calls ``parse_webhook`` (verify the signature on the raw body, then turn every event of the batch
into an ``InboundMessage`` with a dedupe key), stores the events and answers 2xx, mapping the
errors below to statuses. Later a delivery worker calls ``send`` with outbound messages of one
conversation, in order. ``send`` raises ``RetryableSendError`` or ``FinalSendError``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable


class Channel(StrEnum):
    LINE = "line"
    FACEBOOK = "facebook"
    WEBCHAT = "webchat"


class InboundKind(StrEnum):
    TEXT = "text"  # goes through the NLU pipeline
    POSTBACK = "postback"  # a button or quick reply that names an action in ``payload``
    ATTACHMENT = "attachment"  # image, video, audio, file, location, sticker
    FOLLOW = "follow"  # the citizen added the account / pressed Get Started
    UNFOLLOW = "unfollow"  # blocked or unfollowed: no more pushes
    UNSEND = "unsend"  # the citizen took a message back: remove its content
    IGNORED = "ignored"  # stored for the record, acknowledged, not answered


# What a citizen said or sent: counted as a message in, and answered.
CITIZEN_KINDS = frozenset({InboundKind.TEXT, InboundKind.ATTACHMENT, InboundKind.POSTBACK})


@dataclass(frozen=True)
class Attachment:
    kind: str  # image | video | audio | file | location | sticker
    url: str | None = None  # where the content can be fetched (Messenger) or ``None``
    external_id: str | None = None  # platform id of the content (LINE message id)
    filename: str | None = None
    meta: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class InboundMessage:
    """One platform event, normalised. ``dedupe_key`` is unique per channel."""

    channel: Channel
    dedupe_key: str
    user_id: str
    kind: InboundKind
    timestamp: dt.datetime
    text: str | None = None
    payload: str | None = None
    attachments: tuple[Attachment, ...] = ()
    external_message_id: str | None = None
    target_external_message_id: str | None = None  # for UNSEND
    reply_token: str | None = None
    reply_token_expires_at: dt.datetime | None = None
    event_type: str = ""  # the platform's own name, for logs and the record
    group_id: str | None = None  # group/room source: answer only when addressed
    addressed: bool = True
    extra: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class FaqCard:
    """What a rich FAQ answer shows besides its text."""

    faq_id: str
    title: str
    source_url: str


@dataclass(frozen=True)
class ReplyContext:
    """What lets a channel answer an event in reply rather than push (LINE's reply token), and until when.

    Replies cost nothing on LINE, pushes count against the plan's quota: so an answer carries
    the context of the event it answers, and its adapter decides whether the context still works.
    """

    token: str
    expires_at: dt.datetime

    def usable_at(self, now: dt.datetime) -> bool:
        return now < self.expires_at


@dataclass(frozen=True)
class OutboundMessage:
    """One stored outbound message, handed to an adapter for delivery."""

    message_id: str
    conversation_id: str
    user_id: str
    text: str
    sender: str  # bot | officer
    quick_replies: tuple[str, ...] = ()
    faq: FaqCard | None = None
    retry_key: str = ""  # stable per message: a retried push is never sent twice
    reply_context: ReplyContext | None = None  # of the event this answers
    last_inbound_at: dt.datetime | None = None  # the citizen's last message (Messenger window)


@dataclass(frozen=True)
class SendResult:
    message_id: str
    via: str  # reply | push | send | websocket
    platform_message_id: str | None = None


class WebhookError(Exception):
    """Why a webhook request is refused before anything is stored (the hub's route picks the status)."""


class SignatureError(WebhookError):
    """Missing or wrong signature: answer 401 and store nothing."""


class PayloadError(WebhookError):
    """Correctly signed but not valid JSON or not the platform's schema: 400."""


class ChannelNotConfigured(WebhookError):
    """Credentials missing: the webhook answers 503."""


class RetryableSendError(Exception):
    """429, 5xx, timeouts: try again later (``retry_after`` seconds if the platform said)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class FinalSendError(Exception):
    """Will never succeed as is: mark the message failed and show it to officers."""

    def __init__(self, reason: str, *, user_unreachable: bool = False, config_error: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.user_unreachable = user_unreachable
        self.config_error = config_error


class ChannelAdapter(Protocol):
    name: Channel
    max_batch: int  # how many consecutive messages one ``send`` call may carry

    async def send(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        """Deliver messages of one conversation, in order."""
        ...

    async def show_processing(self, message: InboundMessage) -> None:
        """Tell the citizen an answer is coming (LINE loading animation, Messenger typing_on)."""
        ...

    def officer_reply_refusal(self, last_inbound_at: dt.datetime | None, now: dt.datetime) -> str | None:
        """Why an officer reply cannot be delivered now (Messenger's 7-day rule), or ``None``."""
        ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class WebhookSpec:
    """A channel whose platform posts to ``/webhooks/<channel>``: what the hub's route needs to know
    of it without an adapter (none is built while its credentials are unset)."""

    channel: Channel
    not_configured: str  # the 503's reason while the credentials are unset
    subscription_check: bool = False  # the platform also calls ``GET`` to check the subscription


@runtime_checkable
class WebhookReceiver(Protocol):
    """The inbound side of a webhook channel's adapter."""

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[InboundMessage]:
        """Verify then parse every event of the batch; raises a ``WebhookError``."""
        ...

    def answer_subscription_check(self, query: Mapping[str, str]) -> str | None:
        """The text to echo to the platform's ``GET`` check (``WebhookSpec.subscription_check``),
        or ``None``: refused (403)."""
        ...

    async def after_stored(self, stored: Sequence[InboundMessage]) -> None:
        """Courtesies owed for newly stored events, run after the 200 (Messenger's "seen")."""
        ...


# Postback payloads every channel's buttons and menus use (LINE postback data, Messenger payloads).
POSTBACK_FAQ_PREFIX = "faq:"  # faq:<id> answers that entry
POSTBACK_HUMAN = "human"  # talk to an officer
POSTBACK_CANCEL = "cancel"  # leave the officer queue
POSTBACK_GET_STARTED = "get_started"
POSTBACK_COMPLAINT = "complaint"
POSTBACK_COMPLAINT_STATUS = "complaint_status"
POSTBACK_RATE_PREFIX = "rate:"  # rate:<1-5> after an officer resolved the conversation
