"""Outbound messages -> Send API ``message`` objects (text, FAQ button template, quick replies).

Limits (Messenger Platform "Send API", "Button template", "Quick replies"): text up to 2,000
characters; a button template's text up to 640 and 1-3 buttons whose titles are cut at 20;
at most 13 quick replies, titles of 20 characters, payloads of 1,000.

A FAQ answer becomes a button template: the answer, a ``web_url`` button to the official source
and a postback button asking for an officer. An answer too long for the template goes first as
text, then the template carries the entry's title.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from channels.base import POSTBACK_CANCEL, POSTBACK_HUMAN, OutboundMessage
from channels.facebook.events import QUICK_REPLY_TEXT_PREFIX

MAX_TEXT = 2000
MAX_TEMPLATE_TEXT = 640
MAX_BUTTON_TITLE = 20
MAX_QUICK_REPLIES = 13
MAX_QUICK_REPLY_TITLE = 20
MAX_PAYLOAD = 1000
ELLIPSIS = "…"


@dataclass(frozen=True)
class MessengerLabels:
    """Button texts (from the knowledge base's ``responses.yml``)."""

    source: str  # opens the official page the answer comes from
    human: str  # asks for an officer
    cancel: str  # leaves the officer queue


def build_parts(message: OutboundMessage, labels: MessengerLabels) -> list[dict[str, Any]]:
    """The ``message`` objects that deliver one outbound message, in order (never empty)."""
    if message.faq is not None:
        parts = _faq_parts(message, labels)
        quick = build_quick_replies(message.quick_replies, labels, skip={labels.human})
    else:
        parts = [{"text": chunk} for chunk in split_text(message.text, MAX_TEXT)]
        quick = build_quick_replies(message.quick_replies, labels)
    if not parts:
        raise ValueError("the message has no text")
    if quick:
        parts[-1]["quick_replies"] = quick  # shown under the last part, where the citizen looks
    return parts


def _faq_parts(message: OutboundMessage, labels: MessengerLabels) -> list[dict[str, Any]]:
    faq = message.faq
    assert faq is not None
    buttons = [
        {"type": "web_url", "url": faq.source_url, "title": clip(labels.source, MAX_BUTTON_TITLE)},
        {"type": "postback", "title": clip(labels.human, MAX_BUTTON_TITLE), "payload": POSTBACK_HUMAN},
    ]
    # The hub's text ends with "<source label>: <url>"; the button carries that link here.
    answer = _without_line(message.text, f"{labels.source}: {faq.source_url}").strip()
    if answer and len(answer) <= MAX_TEMPLATE_TEXT:
        return [_button_template(answer, buttons)]
    parts: list[dict[str, Any]] = [{"text": chunk} for chunk in split_text(answer, MAX_TEXT)]
    return [*parts, _button_template(clip(faq.title, MAX_TEMPLATE_TEXT), buttons)]


def _button_template(text: str, buttons: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "attachment": {
            "type": "template",
            "payload": {"template_type": "button", "text": text, "buttons": buttons},
        }
    }


def build_quick_replies(
    options: Sequence[str], labels: MessengerLabels, *, skip: Iterable[str] = ()
) -> list[dict[str, str]]:
    """Text quick replies; the officer and cancel options carry our postback payloads."""
    skipped = set(skip)
    result: list[dict[str, str]] = []
    seen: set[str] = set()
    for option in options:
        option = option.strip()
        if not option or option in skipped or option in seen:
            continue
        seen.add(option)
        if option == labels.human:
            payload = POSTBACK_HUMAN
        elif option == labels.cancel:
            payload = POSTBACK_CANCEL
        else:
            # The title may be cut: the payload keeps the whole option for the NLU.
            payload = (QUICK_REPLY_TEXT_PREFIX + option)[:MAX_PAYLOAD]
        result.append(
            {"content_type": "text", "title": clip(option, MAX_QUICK_REPLY_TITLE), "payload": payload}
        )
        if len(result) == MAX_QUICK_REPLIES:
            break
    return result


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters; a cut ends with "…" and keeps Thai marks on their consonant."""
    if len(text) <= limit:
        return text
    return text[: _safe_cut(text, limit - 1)].rstrip() + ELLIPSIS


def split_text(text: str, limit: int) -> list[str]:
    """Chunks of at most ``limit`` characters, cut at a line break or space where possible."""
    chunks: list[str] = []
    rest = text.strip()
    while rest:
        if len(rest) <= limit:
            chunks.append(rest)
            break
        window = rest[:limit]
        cut = max(window.rfind("\n"), window.rfind(" "))
        if cut < limit // 2:
            cut = _safe_cut(rest, limit) or limit  # only marks in the window: cut anyway
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return [chunk for chunk in chunks if chunk]


def _safe_cut(text: str, index: int) -> int:
    """Move a cut left until it does not separate a combining mark (Thai vowels, tones) from its base."""
    while index > 0 and unicodedata.category(text[index]).startswith("M"):
        index -= 1
    return index


def _without_line(text: str, line: str) -> str:
    lines = text.splitlines()
    return "\n".join(item for item in lines if item.strip() != line)
