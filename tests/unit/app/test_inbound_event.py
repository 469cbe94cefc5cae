"""A queued event decoded from its work item: the inverse of intake's payload, read once."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from app.conversations.inbound import InboundEvent, UndecodableEvent, postback_readings
from app.conversations.intake import inbound_to_payload
from app.conversations.models import WorkItem
from channels.base import (
    POSTBACK_CANCEL,
    POSTBACK_COMPLAINT_STATUS,
    POSTBACK_FAQ_PREFIX,
    POSTBACK_GET_STARTED,
    POSTBACK_HUMAN,
    Attachment,
    Channel,
    InboundKind,
    InboundMessage,
)
from knowledge_base.conversation import load_responses

RECEIVED = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)
READINGS = postback_readings(load_responses())


def message(kind: InboundKind = InboundKind.TEXT, **fields: object) -> InboundMessage:
    base: dict[str, object] = {
        "channel": Channel.LINE,
        "dedupe_key": "evt-1",
        "user_id": "U1234",
        "kind": kind,
        "timestamp": RECEIVED - dt.timedelta(seconds=2),
    }
    return InboundMessage(**{**base, **fields})  # type: ignore[arg-type]


def queued(inbound: InboundMessage) -> InboundEvent:
    item = WorkItem(
        id=7,
        channel=inbound.channel.value,
        dedupe_key=inbound.dedupe_key,
        conversation_id="c1",
        message_id=42,
        kind=inbound.kind.value,
        payload=inbound_to_payload(inbound),
        received_at=RECEIVED,
    )
    return InboundEvent.decode(item, READINGS)


class TestDecode:
    def test_every_field_intake_queued_comes_back_as_it_was(self) -> None:
        inbound = message(
            InboundKind.ATTACHMENT,
            text="ดูรูปนี้",
            attachments=(Attachment(kind="image", external_id="m1", meta={"fileSize": 1024}),),
            external_message_id="m1",
            reply_token="rt",
            reply_token_expires_at=RECEIVED + dt.timedelta(minutes=1),
            event_type="message",
            group_id="G1",
            addressed=False,
            extra={"mention": ["U9"]},
        )
        event = queued(inbound)
        assert event.inbound == inbound
        assert (event.item_id, event.conversation_id, event.message_id) == (7, "c1", 42)
        assert event.received_at == RECEIVED

    def test_attachments_are_handed_on_as_intake_queued_them(self) -> None:
        inbound = message(InboundKind.ATTACHMENT, attachments=(Attachment(kind="file", filename="a.pdf"),))
        assert queued(inbound).attachments_as_queued() == inbound_to_payload(inbound)["attachments"]

    def test_a_payload_that_is_no_queued_event_is_refused_without_repeating_its_values(self) -> None:
        payload = inbound_to_payload(message(text="เบอร์ 0812345678"))
        payload["kind"] = "voice"
        item = WorkItem(id=1, conversation_id="c1", payload=payload, received_at=RECEIVED)
        with pytest.raises(UndecodableEvent, match="work item 1: kind: enum") as refused:
            InboundEvent.decode(item, READINGS)
        assert "0812345678" not in str(refused.value)
        assert "voice" not in str(refused.value)


class TestText:
    def test_a_text_says_what_the_citizen_wrote(self) -> None:
        assert queued(message(text="จองชื่อบริษัท")).text == "จองชื่อบริษัท"

    @pytest.mark.parametrize("data", [POSTBACK_HUMAN, POSTBACK_CANCEL])
    def test_an_action_button_says_the_words_it_stands_for_whatever_its_label(self, data: str) -> None:
        event = queued(message(InboundKind.POSTBACK, payload=data, text="ปุ่ม"))
        assert event.text == READINGS[data]
        assert event.postback == data

    def test_another_button_says_its_label(self) -> None:
        event = queued(
            message(InboundKind.POSTBACK, payload=POSTBACK_FAQ_PREFIX + "open_data", text="ข้อมูลเปิด")
        )
        assert (event.text, event.tapped_faq_id) == ("ข้อมูลเปิด", "open_data")

    def test_an_event_that_says_nothing_has_empty_text(self) -> None:
        assert queued(message(InboundKind.FOLLOW)).text == ""
        assert queued(message(InboundKind.POSTBACK, payload=POSTBACK_COMPLAINT_STATUS)).text == ""


class TestActions:
    def test_only_a_postback_names_an_action(self) -> None:
        assert queued(message(text="human")).postback == ""
        assert queued(message(text="human")).tapped_faq_id is None

    @pytest.mark.parametrize(
        ("inbound", "starts"),
        [
            (message(InboundKind.FOLLOW), True),
            (message(InboundKind.POSTBACK, payload=POSTBACK_GET_STARTED), True),
            (message(InboundKind.POSTBACK, payload=POSTBACK_HUMAN), False),
            (message(text="สวัสดี"), False),
        ],
        ids=["follow", "get-started", "human", "text"],
    )
    def test_following_or_get_started_starts_the_chat(self, inbound: InboundMessage, starts: bool) -> None:
        assert queued(inbound).starts_chat is starts

    def test_only_stickers_is_true_only_when_nothing_else_was_sent(self) -> None:
        sticker, image = Attachment(kind="sticker"), Attachment(kind="image")
        assert queued(message(InboundKind.ATTACHMENT, attachments=(sticker,))).only_stickers
        assert not queued(message(InboundKind.ATTACHMENT, attachments=(sticker, image))).only_stickers

    def test_group_chatter_not_meant_for_the_bot_is_not_addressed(self) -> None:
        event = queued(dataclasses.replace(message(text="คุยกันเอง"), group_id="G1", addressed=False))
        assert not event.addressed
