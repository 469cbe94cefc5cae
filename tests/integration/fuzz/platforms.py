"""LINE and Messenger webhooks as the shared property tests drive them (``test_signed_webhooks_fuzz.py``).

Each platform knows how to build a well-formed text message and a batch around it, how to
post a signed body, and how to check the count of a 200: LINE answers nothing but 200, so the
new work items must be at most the batch's events; Messenger answers how many it stored.
"""

from __future__ import annotations

import json
import uuid
from abc import ABC, abstractmethod
from typing import Any

import httpx

from tests.fakes.line.api import BOT_USER_ID
from tests.integration.fuzz.checks import assert_no_server_error, assert_rejected_and_nothing_stored
from tests.integration.fuzz.hub import Hub, Stored
from tests.integration.fuzz.strategies import dumps, nested

MESSENGER_PAGE_ID = "1691462197845448"
LINE_TEXT_EVENT = "ruby-sdk_minimum_text_message_event"
# Stands where a test puts deep nesting; replaced in the serialized body.
DEEP = "@@deep@@"


class SignedWebhook(ABC):
    """One platform's ``POST /webhooks/<name>``."""

    name: str
    signature_header: str
    signature_max_size: int  # longer than a real signature, for the wrong ones
    keeps_blank_text: bool  # a whitespace-only text is in the transcript as sent

    def __repr__(self) -> str:
        return self.name

    @property
    def path(self) -> str:
        return f"/webhooks/{self.name}"

    @abstractmethod
    async def post(self, hub: Hub, body: bytes) -> httpx.Response:
        """Post ``body`` correctly signed."""

    @abstractmethod
    def text_event(self, hub: Hub, text: str | None = None) -> dict[str, Any]:
        """A well-formed text message from a citizen no other example uses."""

    @abstractmethod
    def batch(self, *events: Any) -> dict[str, Any]:
        """The body the platform posts around ``events``."""

    @abstractmethod
    def message_id(self, event: dict[str, Any]) -> str:
        """The platform's id of the message, as stored."""

    @abstractmethod
    def check_accepted(self, response: httpx.Response, body: bytes, before: Stored, after: Stored) -> int:
        """Check what a 200 stored; return how many events it stored."""


class LineWebhook(SignedWebhook):
    name = "line"
    signature_header = "X-Line-Signature"
    signature_max_size = 60
    keeps_blank_text = True

    async def post(self, hub: Hub, body: bytes) -> httpx.Response:
        return await hub.post_line(body)

    def text_event(self, hub: Hub, text: str | None = None) -> dict[str, Any]:
        event = hub.line.fresh(hub.line.event(LINE_TEXT_EVENT), user_id=f"U{uuid.uuid4().hex}")
        event["message"]["text"] = "จดทะเบียนบริษัทออนไลน์ได้ไหม" if text is None else text
        return event

    def batch(self, *events: Any) -> dict[str, Any]:
        return {"destination": BOT_USER_ID, "events": list(events)}

    def message_id(self, event: dict[str, Any]) -> str:
        return str(event["message"]["id"])

    def check_accepted(self, response: httpx.Response, body: bytes, before: Stored, after: Stored) -> int:
        events = json.loads(body)["events"]
        added = after.work_items - before.work_items
        # Every event is stored (unknown kinds as "ignored"), at most once: ids the batch repeats,
        # or that an earlier example used, are redeliveries.
        assert 0 <= added <= len(events)
        return added


class MessengerWebhook(SignedWebhook):
    name = "facebook"
    signature_header = "X-Hub-Signature-256"
    signature_max_size = 80
    keeps_blank_text = False  # on the record as an empty message, nothing in the transcript

    async def post(self, hub: Hub, body: bytes) -> httpx.Response:
        return await hub.post_facebook(body)

    def text_event(self, hub: Hub, text: str | None = None) -> dict[str, Any]:
        return {
            "sender": {"id": str(uuid.uuid4().int)[:16]},
            "recipient": {"id": MESSENGER_PAGE_ID},
            "timestamp": 1_472_026_867_080,
            "message": {
                "mid": f"m_{uuid.uuid4().hex}",
                "text": "ขอหนังสือรับรองบริษัทออนไลน์" if text is None else text,
            },
        }

    def batch(self, *events: Any) -> dict[str, Any]:
        return {
            "object": "page",
            "entry": [{"id": MESSENGER_PAGE_ID, "time": 1_472_026_867_114, "messaging": list(events)}],
        }

    def message_id(self, event: dict[str, Any]) -> str:
        return str(event["message"]["mid"])

    def check_accepted(self, response: httpx.Response, body: bytes, before: Stored, after: Stored) -> int:
        stored: int = response.json()["stored"]
        assert after.work_items - before.work_items == stored
        return stored


LINE = LineWebhook()
MESSENGER = MessengerWebhook()


async def post_and_check(webhook: SignedWebhook, hub: Hub, body: bytes) -> tuple[int, int]:
    """Post signed; check the contract whatever the answer. (status, events stored)."""
    before = await hub.stored()
    response = await webhook.post(hub, body)
    after = await hub.stored()
    assert_no_server_error(response)
    if response.status_code != 200:
        assert response.status_code == 400, response.text
        assert_rejected_and_nothing_stored(response, before, after)
        return response.status_code, 0
    return 200, webhook.check_accepted(response, body, before, after)


async def assert_deep_nesting_rejected(
    webhook: SignedWebhook, hub: Hub, body: Any, depth: int, kind: str
) -> None:
    """``body`` with ``DEEP`` replaced by ``depth`` levels of ``kind``: 400 with a reason, nothing stored."""
    raw = dumps(body).replace(f'"{DEEP}"'.encode(), nested(depth, kind).encode())
    before = await hub.stored()

    response = await webhook.post(hub, raw)

    assert_rejected_and_nothing_stored(response, before, await hub.stored())
    assert response.status_code == 400
