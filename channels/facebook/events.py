"""Messenger webhook bodies -> ``InboundMessage``s (after the signature was verified).

The wire format (Messenger Platform "Webhook events")::

    {"object": "page",
     "entry": [{"id": "<PAGE_ID>", "time": 1458692752478,
                "messaging": [{"sender": {"id": "<PSID>"}, "recipient": {"id": "<PAGE_ID>"},
                               "timestamp": 1458692752478,
                               "message": {"mid": "m_...", "text": "...",
                                           "quick_reply": {"payload": "..."},
                                           "attachments": [{"type": "image",
                                                            "payload": {"url": "...", "sticker_id": 369239263222822}}]}}
                              # or "postback": {"mid": "m_...", "title": "...", "payload": "..."}
                              # or "delivery" / "read" / "reaction" / "optin" / "referral" / ...
                              # or "pass_thread_control" / "take_thread_control" / "request_thread_control"
                ],
                "standby": [ ...same event shapes, for threads another app controls... ]}]}

Choices:
- Every event of every entry becomes its own ``InboundMessage``; one bad event is a 400 for the
  whole body (nothing stored), an event of a kind we do not handle is acknowledged and skipped.
- ``message.mid`` is the dedupe key; a postback without ``mid`` (older events) uses sender + timestamp.
- Echoes (``is_echo``: the Page's own messages), deliveries, reads, reactions, opt-ins, referrals,
  account linking, message requests and unknown events are acknowledged without being stored: they
  carry nothing a citizen asked, and echoes would double the writes of every reply.
- ``standby`` events arrive while another app (e.g. the Page inbox) controls the thread. Messages
  there are stored for the transcript with ``addressed=False``: officers see them, the bot does not
  answer (it must not talk over whoever holds the thread) and no "seen" receipt is sent.
- Handover events (thread control passed, taken or requested) are stored as ``ignored`` on the
  record, so who held the thread when can be reconstructed.
- Ids may be JSON integers (some fixtures); they are read as strings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

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

# Our own quick replies carry the option's full text (titles are cut at 20 characters).
QUICK_REPLY_TEXT_PREFIX = "text:"
HANDOVER_EVENTS = ("pass_thread_control", "take_thread_control", "request_thread_control")
_OUR_POSTBACKS = frozenset(
    {POSTBACK_HUMAN, POSTBACK_CANCEL, POSTBACK_GET_STARTED, POSTBACK_COMPLAINT, POSTBACK_COMPLAINT_STATUS}
)
_OUR_POSTBACK_PREFIXES = (POSTBACK_FAQ_PREFIX, POSTBACK_RATE_PREFIX)
_ATTACHMENT_KINDS = frozenset({"image", "video", "audio", "file", "location"})
_MAX_ID_LENGTH = 128


def is_our_postback(payload: str | None) -> bool:
    """A payload of channels/base.py (faq:<id>, human, cancel, ...), not some other app's."""
    if not payload:
        return False
    return payload in _OUR_POSTBACKS or payload.startswith(_OUR_POSTBACK_PREFIXES)


def parse_body(body: bytes) -> list[InboundMessage]:
    """Every event of the batch worth storing, in order. Raises ``PayloadError`` with a reason."""
    data = decode_body(body, "body is not JSON")
    if not isinstance(data, dict):
        raise PayloadError("body is not a JSON object")
    if data.get("object") != "page":
        raise PayloadError(f"object is {data.get('object')!r}, not 'page'")
    entries = data.get("entry")
    if not isinstance(entries, list):
        raise PayloadError("entry is not a list")
    result: list[InboundMessage] = []
    for n, entry in enumerate(entries):
        where = f"entry[{n}]"
        if not isinstance(entry, dict):
            raise PayloadError(f"{where} is not an object")
        for standby, index, event in _events(entry, where):
            inbound = _parse_event(
                event, f"{where}.{'standby' if standby else 'messaging'}[{index}]", standby
            )
            if inbound is not None:
                result.append(inbound)
    return result


def _events(entry: Mapping[str, Any], where: str) -> Iterator[tuple[bool, int, dict[str, Any]]]:
    # ``changes`` (Page feed, lead forms) are not Messenger conversations: acknowledged, not read.
    for key, standby in (("messaging", False), ("standby", True)):
        events = entry.get(key)
        if events is None:
            continue
        if not isinstance(events, list):
            raise PayloadError(f"{where}.{key} is not a list")
        for index, event in enumerate(events):
            if not isinstance(event, dict):
                raise PayloadError(f"{where}.{key}[{index}] is not an object")
            yield standby, index, event


def _parse_event(event: dict[str, Any], where: str, standby: bool) -> InboundMessage | None:
    if "message" in event:
        return _message(event, where, standby)
    if "postback" in event:
        return _postback(event, where, standby)
    handover = next((name for name in HANDOVER_EVENTS if name in event), None)
    if handover is not None:
        return _handover(event, handover, where)
    return None  # delivery, read, reaction, optin, referral, account_linking, unknown: acknowledged


def _base(event: Mapping[str, Any], where: str, *, user_key: str = "sender") -> dict[str, Any]:
    return {
        "channel": Channel.FACEBOOK,
        "user_id": _party_id(event, user_key, where),
        "timestamp": _timestamp(event.get("timestamp"), where),
    }


def _message(event: dict[str, Any], where: str, standby: bool) -> InboundMessage | None:
    message = _object(event.get("message"), f"{where}.message")
    if message.get("is_echo") is True:
        return None  # the Page's own message coming back
    mid = _string_id(message.get("mid"), f"{where}.message.mid")
    text = message.get("text")
    if text is not None and not isinstance(text, str):
        raise PayloadError(f"{where}.message.text is not a string")
    attachments = _attachments(message.get("attachments"), f"{where}.message.attachments")
    base = _base(event, where)
    extra: dict[str, Any] = {"standby": True} if standby else {}
    quick_reply = message.get("quick_reply")
    payload = quick_reply.get("payload") if isinstance(quick_reply, dict) else None
    payload = str(payload) if payload is not None else None
    common = {
        **base,
        "dedupe_key": mid,
        "external_message_id": mid,
        "attachments": attachments,
        "addressed": not standby,
        "extra": extra,
    }
    if payload is not None and is_our_postback(payload):
        # A tapped quick reply of ours acts like the button it stands for.
        return InboundMessage(
            kind=InboundKind.POSTBACK, text=text, payload=payload, event_type="message.quick_reply", **common
        )
    if payload is not None and payload.startswith(QUICK_REPLY_TEXT_PREFIX):
        text = payload.removeprefix(QUICK_REPLY_TEXT_PREFIX) or text
    elif payload is not None:
        extra["quick_reply_payload"] = payload
    if text is not None and text.strip():
        return InboundMessage(kind=InboundKind.TEXT, text=text, event_type="message", **common)
    if attachments:
        return InboundMessage(kind=InboundKind.ATTACHMENT, event_type="message.attachments", **common)
    # An empty message (e.g. an unsupported type): on the record, no reply.
    return InboundMessage(kind=InboundKind.IGNORED, event_type="message.empty", **common)


def _postback(event: dict[str, Any], where: str, standby: bool) -> InboundMessage:
    postback = _object(event.get("postback"), f"{where}.postback")
    base = _base(event, where)
    mid = postback.get("mid")
    dedupe_key = (
        _string_id(mid, f"{where}.postback.mid")
        if mid is not None
        else f"postback:{base['user_id']}:{_millis(event.get('timestamp'))}"
    )
    title = postback.get("title")
    payload = postback.get("payload")
    extra: dict[str, Any] = {"standby": True} if standby else {}
    if isinstance(postback.get("referral"), dict):
        extra["referral"] = postback["referral"]
    return InboundMessage(
        **base,
        dedupe_key=dedupe_key,
        kind=InboundKind.POSTBACK,
        # The button's title is what the citizen saw themselves tap: the transcript shows it.
        text=title if isinstance(title, str) and title.strip() else None,
        payload=str(payload) if payload is not None else None,
        external_message_id=str(mid) if mid is not None else None,
        event_type="postback",
        addressed=not standby,
        extra=extra,
    )


def _handover(event: dict[str, Any], name: str, where: str) -> InboundMessage:
    details = _object(event.get(name), f"{where}.{name}")
    base = _base(event, where)
    return InboundMessage(
        **base,
        dedupe_key=f"{name}:{base['user_id']}:{_millis(event.get('timestamp'))}",
        kind=InboundKind.IGNORED,
        event_type=name,
        extra={key: str(value) for key, value in details.items() if value is not None},
    )


def _attachments(value: Any, where: str) -> tuple[Attachment, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise PayloadError(f"{where} is not a list")
    result = []
    for n, item in enumerate(value):
        if not isinstance(item, dict):
            raise PayloadError(f"{where}[{n}] is not an object")
        kind = str(item.get("type") or "")
        raw_payload = item.get("payload")
        payload: dict[str, Any] = raw_payload if isinstance(raw_payload, dict) else {}
        url = payload.get("url")
        meta: dict[str, object] = {"type": kind} if kind not in _ATTACHMENT_KINDS else {}
        if kind == "image" and payload.get("sticker_id") is not None:
            kind = "sticker"
            meta["sticker_id"] = str(payload["sticker_id"])
        elif kind == "location":
            coordinates = payload.get("coordinates")
            if isinstance(coordinates, dict):
                meta.update({k: str(v) for k, v in coordinates.items() if k in ("lat", "long")})
        elif kind not in _ATTACHMENT_KINDS:
            kind = "file"  # fallback (shared links), templates, unknown: kept for officers
        if isinstance(item.get("title"), str):
            meta["title"] = item["title"]
        result.append(Attachment(kind=kind, url=str(url) if isinstance(url, str) else None, meta=meta))
    return tuple(result)


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError(f"{where} is not an object")
    return value


def _party_id(event: Mapping[str, Any], key: str, where: str) -> str:
    party = event.get(key)
    if not isinstance(party, dict):
        raise PayloadError(f"{where}.{key} is missing")
    return _string_id(party.get("id"), f"{where}.{key}.id")


def _string_id(value: Any, where: str) -> str:
    """Ids are strings; JSON integers are accepted as their decimal text."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PayloadError(f"{where} is missing or not a string")
    text = str(value)
    if not text or len(text) > _MAX_ID_LENGTH:
        raise PayloadError(f"{where} is empty or too long")
    return text


def _millis(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _timestamp(value: Any, where: str) -> dt.datetime:
    if value is None:
        return dt.datetime.now(dt.UTC)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(f"{where}.timestamp is not a number")
    try:
        return dt.datetime.fromtimestamp(value / 1000, dt.UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise PayloadError(f"{where}.timestamp is out of range") from error
