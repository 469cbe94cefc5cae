"""LINE webhook bodies -> ``InboundMessage``s (after the signature was verified).

The wire format (``webhook.yml`` of line/line-openapi)::

    {"destination": "U<bot user id>",
     "events": [{"type": "message", "mode": "active", "timestamp": 1462629479859,
                 "webhookEventId": "01FZ74A0TDDPYRVKNK77XKC3ZR",
                 "deliveryContext": {"isRedelivery": false},
                 "source": {"type": "user", "userId": "U..."}          # or group/groupId, room/roomId
                 "replyToken": "...",
                 "message": {"id": "325708", "type": "text", "text": "...",
                             "mention": {"mentionees": [{"index": 0, "length": 4, "type": "user",
                                                         "userId": "U...", "isSelf": true}]}}}]}

The SDK's typed models are not used here: they reject events that omit fields newer API
versions made required (``quoteToken``, ``contentProvider``), and its parser turns such an
event into an ``UnknownEvent`` -- a citizen's message would be dropped silently. This module
checks only what the hub relies on; anything else about an event may vary.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    ValidationError,
)

from channels.base import (
    POSTBACK_CANCEL,
    POSTBACK_COMPLAINT,
    POSTBACK_COMPLAINT_STATUS,
    POSTBACK_FAQ_PREFIX,
    POSTBACK_GET_STARTED,
    POSTBACK_HUMAN,
    POSTBACK_RATE_PREFIX,
    Attachment,
    Channel,
    InboundKind,
    InboundMessage,
    PayloadError,
)
from channels.webhook_json import decode_body

# Reply tokens are valid for about a minute; keep a margin for the time the call takes.
REPLY_WINDOW = dt.timedelta(seconds=50)
ACCOUNT_PLACEHOLDER = "line-account"  # owns account-level events when the body names no bot id
MAX_EVENT_TYPE = 64  # what the work queue records of a type's name
ATTACHMENT_TYPES = frozenset({"image", "video", "audio", "file", "location", "sticker"})
_OUR_POSTBACKS = frozenset(
    {POSTBACK_HUMAN, POSTBACK_CANCEL, POSTBACK_GET_STARTED, POSTBACK_COMPLAINT, POSTBACK_COMPLAINT_STATUS}
)
_OUR_POSTBACK_PREFIXES = (POSTBACK_FAQ_PREFIX, POSTBACK_RATE_PREFIX)

# What the hub stores of an id (LINE's are 33 characters; reply tokens about 32): longer ones
# would be refused by PostgreSQL's column widths later, after the 200, so they are refused here.
Id = Annotated[str, StringConstraints(strict=True, max_length=128)]
ReplyToken = Annotated[str, StringConstraints(strict=True, max_length=256)]


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _Envelope(_Part):
    destination: Id = ""  # the bot's user id; old-format bodies lack it
    events: list[dict[str, Any]]


class _Source(_Part):
    type: StrictStr
    user_id: Id | None = Field(default=None, alias="userId")
    group_id: Id | None = Field(default=None, alias="groupId")
    room_id: Id | None = Field(default=None, alias="roomId")


class _DeliveryContext(_Part):
    is_redelivery: StrictBool = Field(default=False, alias="isRedelivery")


class _Event(_Part):
    type: StrictStr
    timestamp: StrictInt
    mode: StrictStr = "active"
    webhook_event_id: Id | None = Field(default=None, alias="webhookEventId")
    delivery_context: _DeliveryContext = Field(default_factory=_DeliveryContext, alias="deliveryContext")
    source: _Source | None = None
    reply_token: ReplyToken | None = Field(default=None, alias="replyToken")


class _Mentionee(_Part):
    index: StrictInt
    length: StrictInt
    type: StrictStr
    user_id: StrictStr | None = Field(default=None, alias="userId")
    is_self: StrictBool | None = Field(default=None, alias="isSelf")


class _Mention(_Part):
    mentionees: list[_Mentionee]


class _Message(_Part):
    id: Id
    type: StrictStr
    text: StrictStr | None = None
    mention: _Mention | None = None


class _TextMessage(_Message):
    text: StrictStr


class _MessageEvent(_Event):
    message: _Message


class _PostbackContent(_Part):
    data: StrictStr


class _PostbackEvent(_Event):
    postback: _PostbackContent


class _UnsendDetail(_Part):
    message_id: Id = Field(alias="messageId")


class _UnsendEvent(_Event):
    unsend: _UnsendDetail


_M = TypeVar("_M", bound=BaseModel)


def parse_body(body: bytes, postback_texts: Mapping[str, str] | None = None) -> list[InboundMessage]:
    """Every event of a verified body, normalised; ``PayloadError`` when it is not LINE's schema."""
    envelope = _validate(_Envelope, decode_body(body, "body is not valid JSON"), "body")
    return [
        _to_inbound(raw, f"events[{i}]", envelope.destination, postback_texts or {})
        for i, raw in enumerate(envelope.events)
    ]


def _validate(model: type[_M], data: object, where: str) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join([where, *(str(part) for part in first["loc"])])
        # Only the location and the rule: the offending value may be personal data.
        raise PayloadError(f"{location}: {first['msg']}") from error


def _to_inbound(
    raw: dict[str, Any], where: str, destination: str, postback_texts: Mapping[str, str]
) -> InboundMessage:
    event = _validate(_Event, raw, where)
    account = destination or ACCOUNT_PLACEHOLDER
    chat_id, group_id, sender = _chat_of(event.source, account)
    try:
        timestamp = dt.datetime.fromtimestamp(event.timestamp / 1000, dt.UTC)
    except (OverflowError, ValueError, OSError) as error:
        raise PayloadError(f"{where}.timestamp: not a time in milliseconds") from error
    base: dict[str, Any] = {
        "channel": Channel.LINE,
        "dedupe_key": event.webhook_event_id or _content_key(raw),
        "user_id": chat_id,
        "timestamp": timestamp,
        "event_type": event.type[:MAX_EVENT_TYPE],
        "group_id": group_id,
        "extra": {
            "destination": destination,
            "mode": event.mode,
            "is_redelivery": event.delivery_context.is_redelivery,
            "source_type": event.source.type if event.source else None,
            "sender_user_id": sender,
        },
    }
    if event.mode != "active" or chat_id == account:
        # standby: another channel answers this chat; no source: an account-level event
        return InboundMessage(kind=InboundKind.IGNORED, **base)
    reply = _reply_fields(event, timestamp)
    if event.type == "message":
        return _message_inbound(_validate(_MessageEvent, raw, where), where, raw, destination, base, reply)
    if event.type == "postback":
        data = _validate(_PostbackEvent, raw, where).postback.data
        if data not in _OUR_POSTBACKS and not data.startswith(_OUR_POSTBACK_PREFIXES):
            return InboundMessage(kind=InboundKind.IGNORED, **base)  # e.g. a rich menu switch
        return InboundMessage(
            kind=InboundKind.POSTBACK, payload=data, text=postback_texts.get(data), **base, **reply
        )
    if event.type == "unsend":
        target = _validate(_UnsendEvent, raw, where).unsend.message_id
        return InboundMessage(kind=InboundKind.UNSEND, target_external_message_id=target, **base)
    if event.type in ("follow", "unfollow") and group_id is None:
        kind = InboundKind.FOLLOW if event.type == "follow" else InboundKind.UNFOLLOW
        return InboundMessage(kind=kind, **base, **reply)
    # join, leave, memberJoined/Left, beacon, accountLink, videoPlayComplete, membership,
    # messageEdited, module, delivery, ... and types LINE adds later: recorded, not answered.
    return InboundMessage(kind=InboundKind.IGNORED, **base)


def _chat_of(source: _Source | None, account: str) -> tuple[str, str | None, str | None]:
    """(conversation key, group/room id, the person who acted). Groups are their own conversation."""
    if source is None:
        return account, None, None
    if source.type == "group" and source.group_id:
        return source.group_id, source.group_id, source.user_id
    if source.type == "room" and source.room_id:
        return source.room_id, source.room_id, source.user_id
    if source.type == "user" and source.user_id:
        return source.user_id, None, source.user_id
    return account, None, source.user_id


def _reply_fields(event: _Event, timestamp: dt.datetime) -> dict[str, Any]:
    if not event.reply_token:
        return {}
    now = dt.datetime.now(dt.UTC)
    # A clock ahead of ours must not stretch the token's life.
    expires = min(timestamp, now) + REPLY_WINDOW
    return {"reply_token": event.reply_token, "reply_token_expires_at": expires}


def _message_inbound(
    event: _MessageEvent,
    where: str,
    raw: dict[str, Any],
    destination: str,
    base: dict[str, Any],
    reply: dict[str, Any],
) -> InboundMessage:
    message = event.message
    in_group = base["group_id"] is not None
    addressed = not in_group or _mentions_bot(message, destination)
    if not addressed:
        # Group chatter not meant for us: acknowledged, and its content is not kept.
        extra = {**base["extra"], "not_addressed": True, "message_type": message.type}
        return InboundMessage(kind=InboundKind.IGNORED, addressed=False, **{**base, "extra": extra})
    common = {"external_message_id": message.id, **base, **reply}
    if message.type == "text":
        text_message = _validate(_TextMessage, raw["message"], f"{where}.message")
        text = _without_bot_mention(text_message, destination) if in_group else text_message.text
        return InboundMessage(kind=InboundKind.TEXT, text=text, **common)
    if message.type in ATTACHMENT_TYPES:
        attachment = _attachment_of(raw["message"])
        return InboundMessage(kind=InboundKind.ATTACHMENT, attachments=(attachment,), **common)
    return InboundMessage(kind=InboundKind.IGNORED, **base)  # a message type LINE adds later


def _mentions_bot(message: _Message, destination: str) -> bool:
    if message.mention is None:
        return False
    return any(_is_bot(m, destination) for m in message.mention.mentionees)


def _is_bot(mentionee: _Mentionee, destination: str) -> bool:
    if mentionee.type != "user":
        return False
    return mentionee.is_self is True or bool(destination and mentionee.user_id == destination)


def _without_bot_mention(message: _TextMessage, destination: str) -> str:
    """The text minus the "@bot" the citizen typed to address us (LINE indexes UTF-16 units)."""
    assert message.mention is not None
    units = message.text.encode("utf-16-le")
    spans = sorted(
        ((m.index, m.length) for m in message.mention.mentionees if _is_bot(m, destination)), reverse=True
    )
    for index, length in spans:
        start, end = index * 2, (index + length) * 2
        if 0 <= start <= end <= len(units):
            units = units[:start] + units[end:]
    return " ".join(units.decode("utf-16-le", errors="replace").split())


def _attachment_of(message: dict[str, Any]) -> Attachment:
    kind = str(message["type"])
    raw_provider = message.get("contentProvider")
    provider: dict[str, Any] = raw_provider if isinstance(raw_provider, dict) else {}
    keys = {
        "location": ("title", "address", "latitude", "longitude"),
        "sticker": ("packageId", "stickerId", "stickerResourceType"),
        "file": ("fileSize",),
        "video": ("duration",),
        "audio": ("duration",),
    }.get(kind, ())
    meta: dict[str, object] = {k: message[k] for k in keys if k in message}
    if provider:
        meta["provider"] = provider.get("type")
    external_url = provider.get("originalContentUrl") if provider.get("type") == "external" else None
    filename = message.get("fileName")
    return Attachment(
        kind=kind,
        url=str(external_url) if external_url else None,
        external_id=str(message["id"]),
        filename=str(filename) if filename else None,
        meta=meta,
    )


def _content_key(raw: dict[str, Any]) -> str:
    """Events from before ``webhookEventId`` existed: a redelivery repeats the same bytes."""
    canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
