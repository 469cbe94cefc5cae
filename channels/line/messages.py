"""Outbound messages -> LINE message objects (text, FAQ Flex card, quick replies) and requests.

Limits from ``messaging-api.yml``: at most 5 messages per request, 13 quick reply items,
quick reply labels of 20 characters, ``altText`` of 1,500, text of 5,000, button labels of 40.

Each message is built once per distinct content, as the SDK's model (which checks it) and its
JSON. The requests carry that JSON: the SDK's own ``to_dict`` walks a Flex card's model tree at
every level of nesting (the request's, the message's and the card's ``.dict()``), and under
load that was a fifth of the hub's CPU.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from linebot.v3.messaging import (
    FlexContainer,
    FlexMessage,
    Message,
    MessageAction,
    PushMessageRequest,
    QuickReply,
    QuickReplyItem,
    ReplyMessageRequest,
    TextMessage,
)
from pydantic.v1 import PrivateAttr

from channels.base import POSTBACK_HUMAN, FaqCard, OutboundMessage

MAX_QUICK_REPLIES = 13
MAX_QUICK_REPLY_LABEL = 20
MAX_ACTION_TEXT = 300
MAX_TEXT = 5000
MAX_ALT_TEXT = 1500
MAX_BUTTON_LABEL = 40
ELLIPSIS = "…"
_THAI_LEADING_VOWELS = frozenset("เแโใไ")


@dataclass(frozen=True)
class LineLabels:
    """Button texts of the FAQ card (from the knowledge base's ``responses.yml``)."""

    source: str  # opens the official page the answer comes from
    human: str  # asks for an officer


def shorten(text: str, limit: int) -> str:
    """At most ``limit`` characters; a cut ends with "…" and never strands a Thai vowel or tone mark."""
    if len(text) <= limit:
        return text
    cut = limit - 1
    # Thai above/below vowels and tone marks are combining characters: keep them with their consonant.
    while cut > 0 and unicodedata.category(text[cut]) in ("Mn", "Mc"):
        cut -= 1
    # A leading vowel (เ แ โ ใ ไ) belongs to the consonant after it.
    while cut > 0 and text[cut - 1] in _THAI_LEADING_VOWELS:
        cut -= 1
    return text[:cut].rstrip() + ELLIPSIS


@dataclass(frozen=True)
class LineMessage:
    """One message as the SDK's model and as the JSON sent for it (``model.to_dict()``).

    Shared by every send of the same content: neither may be changed.
    """

    model: Message
    json: dict[str, Any]


def build_messages(
    messages: Sequence[OutboundMessage], labels: LineLabels, *, rich: bool = True
) -> list[LineMessage]:
    """The messages of one reply or push; ``rich=False`` sends the FAQ card as plain text."""
    return [build_message(m, labels, rich=rich) for m in messages]


def build_message(message: OutboundMessage, labels: LineLabels, *, rich: bool = True) -> LineMessage:
    options = tuple(message.quick_replies)
    if rich and message.faq is not None:
        alt_text = shorten(message.text, MAX_ALT_TEXT)
        return _faq_message(alt_text, message.faq, faq_answer_text(message), labels, options)
    return _text_message(shorten(message.text, MAX_TEXT), options)


@functools.lru_cache(maxsize=1024)
def _faq_message(
    alt_text: str, faq: FaqCard, answer: str, labels: LineLabels, options: tuple[str, ...]
) -> LineMessage:
    contents = FlexContainer.from_dict(faq_bubble(faq, answer, labels))
    model = FlexMessage(alt_text=alt_text, contents=contents, quick_reply=build_quick_reply(options))
    return LineMessage(model, model.to_dict())


@functools.lru_cache(maxsize=1024)
def _text_message(text: str, options: tuple[str, ...]) -> LineMessage:
    model = TextMessage(text=text, quick_reply=build_quick_reply(options))
    return LineMessage(model, model.to_dict())


class _PrebuiltReply(ReplyMessageRequest):
    _messages_json: list[dict[str, Any]] = PrivateAttr(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return _with_messages(self, self._messages_json)


class _PrebuiltPush(PushMessageRequest):
    _messages_json: list[dict[str, Any]] = PrivateAttr(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return _with_messages(self, self._messages_json)


def reply_request(reply_token: str, messages: Sequence[LineMessage]) -> ReplyMessageRequest:
    """The SDK's reply request; it serialises to what ``ReplyMessageRequest.to_dict`` gives."""
    request = _PrebuiltReply(reply_token=reply_token, messages=[m.model for m in messages])
    request._messages_json = [m.json for m in messages]
    return request


def push_request(to: str, messages: Sequence[LineMessage]) -> PushMessageRequest:
    """The SDK's push request; it serialises to what ``PushMessageRequest.to_dict`` gives."""
    request = _PrebuiltPush(to=to, messages=[m.model for m in messages])
    request._messages_json = [m.json for m in messages]
    return request


def _with_messages(
    request: ReplyMessageRequest | PushMessageRequest, json: list[dict[str, Any]]
) -> dict[str, Any]:
    data: dict[str, Any] = request.dict(by_alias=True, exclude={"messages"}, exclude_none=True)
    data["messages"] = json
    return data


def build_quick_reply(options: Sequence[str]) -> QuickReply | None:
    """Each option sends its full text when tapped, so the conversation reads as if typed."""
    items = [
        QuickReplyItem(
            action=MessageAction(
                label=shorten(option, MAX_QUICK_REPLY_LABEL), text=shorten(option, MAX_ACTION_TEXT)
            )
        )
        for option in dict.fromkeys(o for o in options if o.strip())
    ][:MAX_QUICK_REPLIES]
    return QuickReply(items=items) if items else None


def faq_answer_text(message: OutboundMessage) -> str:
    """The answer without the trailing "source: <url>" line (the card has a button for it)."""
    assert message.faq is not None
    lines = message.text.rstrip().split("\n")
    if len(lines) > 1 and message.faq.source_url in lines[-1]:
        lines = lines[:-1]
    return "\n".join(lines).strip() or message.text


def faq_bubble(faq: FaqCard, answer: str, labels: LineLabels) -> dict[str, Any]:
    """A bubble: title, answer, a button to the official source and one to an officer."""
    return {
        "type": "bubble",
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "md",
            "contents": [
                {"type": "text", "text": faq.title, "weight": "bold", "size": "md", "wrap": True},
                {"type": "text", "text": answer, "size": "sm", "wrap": True},
            ],
        },
        "footer": {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": [
                {
                    "type": "button",
                    "style": "link",
                    "height": "sm",
                    "action": {
                        "type": "uri",
                        "label": shorten(labels.source, MAX_BUTTON_LABEL),
                        "uri": faq.source_url,
                    },
                },
                {
                    "type": "button",
                    "style": "primary",
                    "height": "sm",
                    "action": {
                        "type": "postback",
                        "label": shorten(labels.human, MAX_BUTTON_LABEL),
                        "data": POSTBACK_HUMAN,
                        "displayText": shorten(labels.human, MAX_ACTION_TEXT),
                    },
                },
            ],
        },
    }
