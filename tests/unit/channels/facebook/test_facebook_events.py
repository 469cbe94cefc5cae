"""Messenger webhook bodies -> InboundMessages, on the official fixtures (channels/facebook/events.py)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from channels.base import POSTBACK_HUMAN, Channel, InboundKind, PayloadError
from channels.facebook.events import parse_body
from tests.fakes.facebook.graph_api import MessengerFixtures, first_event, messenger_fixtures

__all__ = ["messenger_fixtures"]

NOT_STORED = [
    "fbmq_echo_text",
    "gem_echo_audio",
    "gem_echo_file",
    "gem_echo_location",
    "gem_echo_text_quick_reply_image",
    "gem_echo_video",
    "fbmq_delivery",
    "gem_delivery",
    "fbmessenger_payload_delivered",
    "fbmq_read",
    "gem_read",
    "fbmessenger_payload_message_read",
    "gem_message_reaction",
    "gem_optin",
    "fbmessenger_payload_optin",
    "fbmq_referral",
    "gem_referral",
    "fbmq_account_linking",
    "gem_account_linking",
    "fbmessenger_payload_account_linking",
    "gem_message_request",
    "fbmq_unknown_event",
    "gem_unknown_event",
    "gem_changes_feed",
    "gem_changes_leadgen",
    "gem_envelope_without_messaging",
]


def _as_standby(data: dict[str, Any]) -> None:
    entry = data["entry"][0]
    entry["standby"] = entry.pop("messaging")


class TestMessages:
    def test_a_text_message_is_one_text_event_keyed_on_its_mid(
        self, messenger_fixtures: MessengerFixtures
    ) -> None:
        [inbound] = parse_body(messenger_fixtures.body("fbmq_message_text"))

        assert inbound.channel == Channel.FACEBOOK
        assert inbound.kind == InboundKind.TEXT
        assert inbound.text == "hello world"
        assert inbound.user_id == "1134343043305865"
        assert inbound.dedupe_key == "mid.1472026867074:cfb5e1d4bde07a2a55"
        assert inbound.external_message_id == inbound.dedupe_key
        assert inbound.addressed
        assert inbound.timestamp.timestamp() == pytest.approx(1472026867.080)

    def test_integer_ids_are_read_as_strings(self, messenger_fixtures: MessengerFixtures) -> None:
        [inbound] = parse_body(messenger_fixtures.body("fbmessenger_payload_message"))

        assert inbound.user_id == "1234"
        assert inbound.text == "hello, world!"

    def test_text_with_a_foreign_quick_reply_and_an_image_keeps_both(
        self, messenger_fixtures: MessengerFixtures
    ) -> None:
        [inbound] = parse_body(messenger_fixtures.body("gem_message_text_quick_reply_image_nlp"))

        assert inbound.kind == InboundKind.TEXT
        assert inbound.text == "Hello, bot!"
        assert [(a.kind, a.url) for a in inbound.attachments] == [("image", "https://www.example.com/1.jpg")]
        assert inbound.extra["quick_reply_payload"] == "Hi, I am a quick reply!"

    def test_a_quick_reply_with_our_payload_acts_like_the_button(
        self, messenger_fixtures: MessengerFixtures
    ) -> None:
        def tap_human(data: dict[str, Any]) -> None:
            first_event(data)["message"]["quick_reply"]["payload"] = POSTBACK_HUMAN

        body = messenger_fixtures.derived("gem_message_text_quick_reply_image_nlp", tap_human)

        [inbound] = parse_body(body)
        assert inbound.kind == InboundKind.POSTBACK
        assert inbound.payload == POSTBACK_HUMAN

    def test_a_quick_reply_of_ours_brings_back_the_whole_option(
        self, messenger_fixtures: MessengerFixtures
    ) -> None:
        def tap_cut_title(data: dict[str, Any]) -> None:
            message = first_event(data)["message"]
            message["text"] = "หลักสูตรออนไลน์ฟรีส…"
            message["quick_reply"]["payload"] = "text:หลักสูตรออนไลน์ฟรีสำหรับผู้ประกอบการ"

        [inbound] = parse_body(
            messenger_fixtures.derived("gem_message_text_quick_reply_image_nlp", tap_cut_title)
        )

        assert inbound.kind == InboundKind.TEXT
        assert inbound.text == "หลักสูตรออนไลน์ฟรีสำหรับผู้ประกอบการ"

    @pytest.mark.parametrize(
        ("name", "kind", "url"),
        [
            ("gem_message_audio", "audio", "https://www.example.com/4.ogg"),
            ("gem_message_file", "file", "https://www.example.com/3.pdf"),
            ("gem_message_video", "video", "https://www.example.com/2.mp4"),
            ("gem_message_location", "location", None),
        ],
    )
    def test_an_attachment_is_an_attachment_event_with_its_url(
        self, messenger_fixtures: MessengerFixtures, name: str, kind: str, url: str | None
    ) -> None:
        [inbound] = parse_body(messenger_fixtures.body(name))

        assert inbound.kind == InboundKind.ATTACHMENT
        assert inbound.text is None
        assert [(a.kind, a.url) for a in inbound.attachments] == [(kind, url)]

    def test_a_location_keeps_its_coordinates(self, messenger_fixtures: MessengerFixtures) -> None:
        [inbound] = parse_body(messenger_fixtures.body("gem_message_location"))

        assert inbound.attachments[0].meta == {"lat": "39.920_770", "long": "40.920_770"}

    def test_an_image_with_a_sticker_id_is_a_sticker(self, messenger_fixtures: MessengerFixtures) -> None:
        def make_sticker(data: dict[str, Any]) -> None:
            payload = first_event(data)["message"]["attachments"][0]["payload"]
            payload.update(url="https://www.example.com/like.png", sticker_id=369239263222822)

        body = messenger_fixtures.derived("gem_message_file", make_sticker)
        body = body.replace(b'"type": "file"', b'"type": "image"')

        [inbound] = parse_body(body)
        assert inbound.kind == InboundKind.ATTACHMENT
        assert inbound.attachments[0].kind == "sticker"
        assert inbound.attachments[0].meta["sticker_id"] == "369239263222822"


class TestPostbacks:
    def test_a_postback_without_mid_is_keyed_on_sender_and_time(
        self, messenger_fixtures: MessengerFixtures
    ) -> None:
        [inbound] = parse_body(messenger_fixtures.body("fbmq_postback"))

        assert inbound.kind == InboundKind.POSTBACK
        assert inbound.payload == "DEVELOPED_DEFINED_PAYLOAD"
        assert inbound.dedupe_key == "postback:1134343043305865:1472028006107"

    def test_a_postback_keeps_its_referral(self, messenger_fixtures: MessengerFixtures) -> None:
        [inbound] = parse_body(messenger_fixtures.body("gem_postback_with_referral"))

        assert inbound.extra["referral"] == {
            "ref": "my-ref-value",
            "source": "SHORTLINK",
            "type": "OPEN_THREAD",
        }

    def test_the_button_title_is_the_transcript_text(self, messenger_fixtures: MessengerFixtures) -> None:
        def titled(data: dict[str, Any]) -> None:
            first_event(data)["postback"].update(title="เริ่มต้นใช้งาน", payload="get_started", mid="m_abc")

        [inbound] = parse_body(messenger_fixtures.derived("fbmq_postback", titled))

        assert (inbound.text, inbound.payload, inbound.dedupe_key) == ("เริ่มต้นใช้งาน", "get_started", "m_abc")


class TestNotStored:
    @pytest.mark.parametrize("name", NOT_STORED)
    def test_events_that_ask_nothing_are_acknowledged_without_being_stored(
        self, messenger_fixtures: MessengerFixtures, name: str
    ) -> None:
        assert parse_body(messenger_fixtures.body(name)) == []

    def test_every_fixture_parses_or_is_rejected_for_its_object(
        self, messenger_fixtures: MessengerFixtures
    ) -> None:
        for name in messenger_fixtures.names():
            if name == "fbmq_invalid_object_not_a_page":
                continue
            parse_body(messenger_fixtures.body(name))  # no PayloadError


class TestStandbyAndHandover:
    def test_a_standby_message_is_kept_for_the_transcript_but_not_addressed_to_the_bot(
        self, messenger_fixtures: MessengerFixtures
    ) -> None:
        [inbound] = parse_body(messenger_fixtures.derived("fbmq_message_text", _as_standby))

        assert inbound.kind == InboundKind.TEXT
        assert not inbound.addressed
        assert inbound.extra["standby"] is True

    def test_a_thread_control_change_is_stored_as_ignored(
        self, messenger_fixtures: MessengerFixtures
    ) -> None:
        [inbound] = parse_body(messenger_fixtures.body("gem_handover_pass_thread_control"))

        assert inbound.kind == InboundKind.IGNORED
        assert inbound.event_type == "pass_thread_control"
        assert inbound.extra["new_owner_app_id"] == "123456789"
        assert inbound.dedupe_key == "pass_thread_control:3:1458692752478"


class TestBatches:
    def test_every_event_of_every_entry_is_kept_in_order(self, messenger_fixtures: MessengerFixtures) -> None:
        first = messenger_fixtures.event("fbmq_message_text")
        second = messenger_fixtures.event("gem_message_file")
        read = messenger_fixtures.event("fbmq_read")
        first["entry"][0]["messaging"].append(first_event(read))
        first["entry"].append(second["entry"][0])

        inbound = parse_body(json.dumps(first).encode())

        assert [i.kind for i in inbound] == [InboundKind.TEXT, InboundKind.ATTACHMENT]
        assert [i.user_id for i in inbound] == ["1134343043305865", "5"]


class TestSchema:
    @pytest.mark.parametrize(
        ("body", "reason"),
        [
            (b"not json", "not JSON"),
            (b"[]", "not a JSON object"),
            (b'{"object": "page"}', "entry is not a list"),
            (b'{"object": "page", "entry": [1]}', "entry[0] is not an object"),
            (b'{"object": "page", "entry": [{"messaging": {}}]}', "messaging is not a list"),
            (b'{"object": "page", "entry": [{"messaging": [{"message": {"mid": "m"}}]}]}', "sender"),
            (
                b'{"object": "page", "entry": [{"messaging": [{"sender": {"id": "1"}, "message": {}}]}]}',
                "mid",
            ),
        ],
    )
    def test_a_body_off_the_schema_is_refused_with_a_reason(self, body: bytes, reason: str) -> None:
        with pytest.raises(PayloadError, match=re.escape(reason)):
            parse_body(body)

    def test_an_object_other_than_page_is_refused(self, messenger_fixtures: MessengerFixtures) -> None:
        with pytest.raises(PayloadError, match="not 'page'"):
            parse_body(messenger_fixtures.body("fbmq_invalid_object_not_a_page"))
