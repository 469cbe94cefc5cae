"""LINE webhook verification and parsing on the official fixtures (``LineAdapter.parse_webhook``)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from channels.base import InboundKind, InboundMessage, PayloadError, SignatureError
from channels.line.adapter import LineAdapter
from channels.line.events import ACCOUNT_PLACEHOLDER
from channels.line.messages import LineLabels
from tests.fakes.line.api import BOT_USER_ID
from tests.fakes.line.fixtures import TEST_SECRET, LineFixtures, line_fixtures

__all__ = ["line_fixtures"]


def adapter(secret: str = TEST_SECRET, postback_texts: dict[str, str] | None = None) -> LineAdapter:
    return LineAdapter(
        channel_secret=secret,
        access_token="unused",
        api_base_url="http://127.0.0.1:9",
        data_api_base_url="http://127.0.0.1:9/data",
        labels=LineLabels(source="ที่มา", human="คุยกับเจ้าหน้าที่"),
        var_dir=Path("unused"),
        postback_texts=postback_texts,
    )


def parse(fixtures: LineFixtures, payload: dict[str, Any] | bytes, **kwargs: Any) -> list[InboundMessage]:
    body, headers = fixtures.signed(payload)
    return adapter(**kwargs).parse_webhook(body, headers)


def parse_fixture(fixtures: LineFixtures, name: str) -> list[InboundMessage]:
    return parse(fixtures, fixtures.raw(name))


class TestSignature:
    def test_signature_vectors_pass_or_fail_as_labelled(self, line_fixtures: LineFixtures) -> None:
        vectors = line_fixtures.vectors()
        assert len(vectors) >= 12
        for vector in vectors:
            headers = {"X-Line-Signature": vector.signature}
            try:
                adapter(vector.secret).parse_webhook(vector.body, headers)
            except SignatureError:
                assert not vector.expected_valid, f"{vector.id} was rejected"
            except PayloadError:
                assert vector.expected_valid, f"{vector.id} was verified"  # e.g. "bodybodybodybody"
            else:
                assert vector.expected_valid, f"{vector.id} was verified"

    def test_missing_signature_is_rejected(self, line_fixtures: LineFixtures) -> None:
        with pytest.raises(SignatureError, match="missing"):
            adapter().parse_webhook(line_fixtures.raw("ruby-sdk_minimum_text_message_event"), {})

    def test_header_name_is_case_insensitive(self, line_fixtures: LineFixtures) -> None:
        body = line_fixtures.raw("ruby-sdk_minimum_text_message_event")
        events = adapter().parse_webhook(body, {"x-line-signature": line_fixtures.sign(body)})
        assert len(events) == 1

    def test_signature_with_another_secret_is_rejected(self, line_fixtures: LineFixtures) -> None:
        body = line_fixtures.raw("ruby-sdk_minimum_text_message_event")
        signature = line_fixtures.sign(body, "another-secret")
        with pytest.raises(SignatureError, match="does not match"):
            adapter().parse_webhook(body, {"X-Line-Signature": signature})

    def test_bytes_that_are_not_utf8_are_verified_then_refused(self, line_fixtures: LineFixtures) -> None:
        body = b'{"destination": "\xff\xfe", "events": []}'
        with pytest.raises(PayloadError, match="JSON"):
            adapter().parse_webhook(body, {"X-Line-Signature": line_fixtures.sign(body)})
        with pytest.raises(SignatureError):
            adapter().parse_webhook(body, {"X-Line-Signature": line_fixtures.sign(b"other")})


class TestSchema:
    def test_verify_request_has_no_events(self, line_fixtures: LineFixtures) -> None:
        assert parse_fixture(line_fixtures, "ruby-sdk_webhook_verification_empty_events") == []

    @pytest.mark.parametrize(
        ("body", "reason"),
        [
            (b"not json", "not valid JSON"),
            (b"[]", "body"),
            (b'{"destination": "U1"}', "body.events"),
            (b'{"destination": "U1", "events": [1]}', "body.events.0"),
            (b'{"destination": "U1", "events": [{"timestamp": 1}]}', "events[0].type"),
            (
                b'{"destination": "U1", "events": [{"type": "follow", "timestamp": "soon"}]}',
                "events[0].timestamp",
            ),
            (b'{"destination": "U1", "events": [{"type": "follow", "timestamp": 1e400}]}', "timestamp"),
            (
                b'{"destination": "U1", "events": [{"type": "follow", "timestamp": 99999999999999999999}]}',
                "timestamp",
            ),
        ],
    )
    def test_a_body_that_is_not_the_schema_is_refused_with_a_reason(
        self, line_fixtures: LineFixtures, body: bytes, reason: str
    ) -> None:
        with pytest.raises(PayloadError, match=reason.replace("[", r"\[").replace("]", r"\]")):
            parse(line_fixtures, body)

    def test_a_message_without_an_id_is_refused(self, line_fixtures: LineFixtures) -> None:
        event = line_fixtures.event("ruby-sdk_minimum_text_message_event")
        del event["message"]["id"]
        with pytest.raises(PayloadError, match=r"events\[0\]\.message\.id"):
            parse(line_fixtures, line_fixtures.envelope(event))

    def test_a_text_message_without_text_is_refused(self, line_fixtures: LineFixtures) -> None:
        event = line_fixtures.event("ruby-sdk_minimum_text_message_event")
        event["message"]["text"] = 42
        with pytest.raises(PayloadError, match=r"events\[0\]\.message\.text"):
            parse(line_fixtures, line_fixtures.envelope(event))

    def test_the_reason_does_not_echo_the_value(self, line_fixtures: LineFixtures) -> None:
        event = line_fixtures.event("ruby-sdk_minimum_text_message_event")
        event["timestamp"] = "0812345678"
        with pytest.raises(PayloadError) as caught:
            parse(line_fixtures, line_fixtures.envelope(event))
        assert "0812345678" not in str(caught.value)


OLD_FORMAT_BODY = "ruby-sdk-v1_signature_validation_body"
EXPECTED_KINDS = {
    "ruby-sdk_account_link_event": InboundKind.IGNORED,
    "ruby-sdk_activated_event": InboundKind.IGNORED,
    "ruby-sdk_animation_sticker_message_event": InboundKind.ATTACHMENT,
    "ruby-sdk_attached_module_event": InboundKind.IGNORED,
    "ruby-sdk_audio_message_event": InboundKind.ATTACHMENT,
    "ruby-sdk_beacon_event": InboundKind.IGNORED,
    "ruby-sdk_bot_resumed_event": InboundKind.IGNORED,
    "ruby-sdk_bot_suspended_event": InboundKind.IGNORED,
    "ruby-sdk_deactivated_event": InboundKind.IGNORED,
    "ruby-sdk_detached_module_event": InboundKind.IGNORED,
    "ruby-sdk_file_message_event": InboundKind.ATTACHMENT,
    "ruby-sdk_full_text_message_event": InboundKind.IGNORED,  # a group message not meant for the bot
    "ruby-sdk_join_event": InboundKind.IGNORED,
    "ruby-sdk_leave_event": InboundKind.IGNORED,
    "ruby-sdk_location_message_event": InboundKind.ATTACHMENT,
    "ruby-sdk_member_joined_event": InboundKind.IGNORED,
    "ruby-sdk_member_left_event": InboundKind.IGNORED,
    "ruby-sdk_membership_event": InboundKind.IGNORED,
    "ruby-sdk_message_edited_event": InboundKind.IGNORED,
    "ruby-sdk_minimum_text_message_event": InboundKind.TEXT,
    "ruby-sdk_pnp_delivery_completion_event_with_x_line_delivery_tag": InboundKind.IGNORED,
    "ruby-sdk_pnp_delivery_completion_event_without_x_line_delivery_tag": InboundKind.IGNORED,
    "ruby-sdk_rich_menu_selected_postback_event": InboundKind.IGNORED,  # not one of our payloads
    "ruby-sdk_simple_follow_event": InboundKind.FOLLOW,
    "ruby-sdk_skip_verification_text_message": InboundKind.TEXT,
    "ruby-sdk_sticker_message_event": InboundKind.IGNORED,  # group, not addressed
    "ruby-sdk_time_selected_postback_event": InboundKind.IGNORED,
    "ruby-sdk_two_image_message_events": InboundKind.ATTACHMENT,
    "ruby-sdk_unblocked_follow_event": InboundKind.FOLLOW,
    "ruby-sdk_unfollow_event": InboundKind.UNFOLLOW,
    "ruby-sdk_unknown_event": InboundKind.IGNORED,
    "ruby-sdk_unknown_message_type": InboundKind.IGNORED,
    "ruby-sdk_unsend_event": InboundKind.UNSEND,
    "ruby-sdk_video_message_event": InboundKind.ATTACHMENT,
    "ruby-sdk_video_play_complete": InboundKind.IGNORED,
}


class TestEveryFixture:
    def test_every_fixture_body_parses(self, line_fixtures: LineFixtures) -> None:
        for name in line_fixtures.names():
            if name == OLD_FORMAT_BODY:
                continue
            events = parse_fixture(line_fixtures, name)
            assert len(events) == len(line_fixtures.body(name)["events"]), name

    def test_each_event_type_becomes_its_kind(self, line_fixtures: LineFixtures) -> None:
        for name, kind in EXPECTED_KINDS.items():
            assert {e.kind for e in parse_fixture(line_fixtures, name)} == {kind}, name

    def test_the_all_types_bodies_map_every_event(self, line_fixtures: LineFixtures) -> None:
        for name in ("python-sdk_v3_webhook_all_event_types", "python-sdk_legacy_webhook_all_event_types"):
            events = parse_fixture(line_fixtures, name)
            by_type = {(e.event_type, e.kind) for e in events}
            assert ("follow", InboundKind.FOLLOW) in by_type
            assert ("unfollow", InboundKind.UNFOLLOW) in by_type
            assert ("unsend", InboundKind.UNSEND) in by_type
            assert ("undefined", InboundKind.IGNORED) in by_type
            assert ("message", InboundKind.TEXT) in by_type
            kinds = [a.kind for e in events for a in e.attachments]
            assert {"image", "video", "audio", "location", "sticker", "file"} <= set(kinds)

    def test_the_old_format_body_is_refused_for_its_flattened_postback(
        self, line_fixtures: LineFixtures
    ) -> None:
        # It signs a signature vector; its postback event has "postback.data" instead of "postback".
        with pytest.raises(PayloadError, match=r"events\[10\]\.postback"):
            parse_fixture(line_fixtures, OLD_FORMAT_BODY)

    def test_old_format_events_get_a_stable_content_key(self, line_fixtures: LineFixtures) -> None:
        body = line_fixtures.body(OLD_FORMAT_BODY)
        body["events"] = [e for e in body["events"] if e["type"] != "postback"]
        first = parse(line_fixtures, body)
        again = parse(line_fixtures, body)
        assert [e.dedupe_key for e in first] == [e.dedupe_key for e in again]
        assert all(e.dedupe_key.startswith("sha256:") for e in first)
        assert len({e.dedupe_key for e in first}) == len(first)


class TestMessages:
    def test_text_carries_id_token_and_expiry(self, line_fixtures: LineFixtures) -> None:
        event = line_fixtures.fresh(
            line_fixtures.event("ruby-sdk_minimum_text_message_event"), user_id="Uabc"
        )
        (inbound,) = parse(line_fixtures, line_fixtures.envelope(event))
        assert inbound.kind == InboundKind.TEXT
        assert inbound.dedupe_key == event["webhookEventId"]
        assert inbound.user_id == "Uabc" and inbound.group_id is None and inbound.addressed
        assert inbound.external_message_id == event["message"]["id"]
        assert inbound.reply_token == event["replyToken"]
        assert inbound.reply_token_expires_at is not None
        assert inbound.reply_token_expires_at - inbound.timestamp == dt.timedelta(seconds=50)

    def test_an_old_event_has_an_expired_token(self, line_fixtures: LineFixtures) -> None:
        (inbound,) = parse_fixture(line_fixtures, "ruby-sdk_minimum_text_message_event")
        assert inbound.reply_token_expires_at is not None
        assert inbound.reply_token_expires_at < dt.datetime.now(dt.UTC)

    def test_a_clock_ahead_of_ours_does_not_stretch_the_token(self, line_fixtures: LineFixtures) -> None:
        event = line_fixtures.fresh(
            line_fixtures.event("ruby-sdk_minimum_text_message_event"), age_seconds=-600
        )
        (inbound,) = parse(line_fixtures, line_fixtures.envelope(event))
        assert inbound.reply_token_expires_at is not None
        assert inbound.reply_token_expires_at <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=51)

    def test_redelivery_is_recorded(self, line_fixtures: LineFixtures) -> None:
        events = parse_fixture(line_fixtures, "python-sdk_v3_webhook_all_event_types")
        assert events[25].extra["is_redelivery"] is True
        assert events[0].extra["is_redelivery"] is False

    def test_standby_events_are_not_answered(self, line_fixtures: LineFixtures) -> None:
        event = line_fixtures.fresh(line_fixtures.event("ruby-sdk_minimum_text_message_event"))
        event["mode"] = "standby"
        (inbound,) = parse(line_fixtures, line_fixtures.envelope(event))
        assert inbound.kind == InboundKind.IGNORED

    def test_unknown_message_type_in_a_one_to_one_chat_is_ignored(self, line_fixtures: LineFixtures) -> None:
        event = line_fixtures.fresh(line_fixtures.event("ruby-sdk_unknown_message_type"), user_id="Uabc")
        (inbound,) = parse(line_fixtures, line_fixtures.envelope(event))
        assert inbound.kind == InboundKind.IGNORED and inbound.text is None

    def test_a_long_unknown_type_name_is_cut_to_what_the_queue_keeps(
        self, line_fixtures: LineFixtures
    ) -> None:
        body = line_fixtures.body("ruby-sdk_unknown_event")
        body["events"][0]["type"] = "x" * 300
        (inbound,) = parse(line_fixtures, body)
        assert inbound.kind == InboundKind.IGNORED and len(inbound.event_type) == 64

    def test_unknown_event_type_is_ignored_with_its_id(self, line_fixtures: LineFixtures) -> None:
        (inbound,) = parse_fixture(line_fixtures, "ruby-sdk_unknown_event")
        assert inbound.kind == InboundKind.IGNORED
        assert inbound.event_type == "hoge"
        assert inbound.dedupe_key == "01G17EJCGAVV66J5WNA7ZCTF6H"
        assert inbound.user_id == "Uc7472b39e21dab71c2347e02714630d6"  # no source: the account's record

    def test_a_body_without_destination_still_files_account_events(self, line_fixtures: LineFixtures) -> None:
        body = line_fixtures.body("ruby-sdk_unknown_event")
        del body["destination"]
        (inbound,) = parse(line_fixtures, body)
        assert inbound.user_id == ACCOUNT_PLACEHOLDER


class TestAttachments:
    def test_file_keeps_name_size_and_message_id(self, line_fixtures: LineFixtures) -> None:
        (inbound,) = parse_fixture(line_fixtures, "ruby-sdk_file_message_event")
        (attachment,) = inbound.attachments
        assert attachment.kind == "file"
        assert attachment.external_id == "325708"
        assert attachment.filename == "file.txt"
        assert attachment.meta["fileSize"] == 2138

    def test_image_from_line_has_no_url(self, line_fixtures: LineFixtures) -> None:
        inbound = parse_fixture(line_fixtures, "ruby-sdk_two_image_message_events")[0]
        (attachment,) = inbound.attachments
        assert attachment.kind == "image" and attachment.url is None
        assert attachment.meta["provider"] == "line"

    def test_image_from_an_external_provider_keeps_its_url(self, line_fixtures: LineFixtures) -> None:
        events = parse_fixture(line_fixtures, "python-sdk_v3_webhook_all_event_types")
        (attachment,) = events[2].attachments  # video, provider "external"
        assert attachment.url == "https://example.com"

    def test_location_and_sticker_keep_their_details(self, line_fixtures: LineFixtures) -> None:
        (location,) = parse_fixture(line_fixtures, "ruby-sdk_location_message_event")[0].attachments
        assert {"title", "address", "latitude", "longitude"} <= set(location.meta)
        (sticker,) = parse_fixture(line_fixtures, "ruby-sdk_animation_sticker_message_event")[0].attachments
        assert sticker.kind == "sticker" and {"packageId", "stickerId"} <= set(sticker.meta)


class TestPostbacks:
    def _postback(self, fixtures: LineFixtures, data: str) -> InboundMessage:
        event = fixtures.fresh(fixtures.event("ruby-sdk_rich_menu_selected_postback_event"), user_id="Uabc")
        event["postback"] = {"data": data}
        (inbound,) = parse(fixtures, fixtures.envelope(event), postback_texts={"complaint": "ร้องเรียน"})
        return inbound

    def test_our_payload_becomes_a_postback_with_the_buttons_text(self, line_fixtures: LineFixtures) -> None:
        inbound = self._postback(line_fixtures, "complaint")
        assert inbound.kind == InboundKind.POSTBACK
        assert inbound.payload == "complaint" and inbound.text == "ร้องเรียน"
        assert inbound.reply_token is not None

    def test_human_is_labelled_by_default(self, line_fixtures: LineFixtures) -> None:
        assert self._postback(line_fixtures, "human").text == "คุยกับเจ้าหน้าที่"

    def test_faq_payload_is_kept(self, line_fixtures: LineFixtures) -> None:
        inbound = self._postback(line_fixtures, "faq:name_reservation")
        assert inbound.kind == InboundKind.POSTBACK and inbound.payload == "faq:name_reservation"

    def test_foreign_postback_data_is_ignored(self, line_fixtures: LineFixtures) -> None:
        assert self._postback(line_fixtures, "action=buyItem&itemId=1").kind == InboundKind.IGNORED


class TestGroups:
    def _group_text(
        self, fixtures: LineFixtures, text: str, mentionees: list[dict[str, Any]]
    ) -> InboundMessage:
        event = fixtures.fresh(
            fixtures.event("ruby-sdk_full_text_message_event"), group_id="Cgroup1", user_id="Umember"
        )
        event["message"]["text"] = text
        event["message"].pop("emojis", None)
        event["message"]["mention"] = {"mentionees": mentionees}
        (inbound,) = parse(fixtures, fixtures.envelope(event))
        return inbound

    def test_a_group_message_for_others_is_ignored_and_not_kept(self, line_fixtures: LineFixtures) -> None:
        (inbound,) = parse_fixture(line_fixtures, "ruby-sdk_full_text_message_event")
        assert inbound.kind == InboundKind.IGNORED and not inbound.addressed
        assert inbound.text is None and "Good Morning" not in json.dumps(dict(inbound.extra))

    def test_mentioning_the_bot_addresses_it_in_the_groups_own_conversation(
        self, line_fixtures: LineFixtures
    ) -> None:
        inbound = self._group_text(
            line_fixtures,
            "@govchat จองชื่อบริษัท",
            [{"index": 0, "length": 8, "type": "user", "userId": BOT_USER_ID}],
        )
        assert inbound.kind == InboundKind.TEXT and inbound.addressed
        assert inbound.user_id == "Cgroup1" and inbound.group_id == "Cgroup1"
        assert inbound.extra["sender_user_id"] == "Umember"
        assert inbound.text == "จองชื่อบริษัท"

    def test_is_self_marks_the_bot_too(self, line_fixtures: LineFixtures) -> None:
        inbound = self._group_text(
            line_fixtures, "สวัสดี @บอท", [{"index": 7, "length": 4, "type": "user", "isSelf": True}]
        )
        assert inbound.kind == InboundKind.TEXT and inbound.text == "สวัสดี"

    def test_mention_offsets_count_utf16_units(self, line_fixtures: LineFixtures) -> None:
        # "🙏" is two UTF-16 units, so the mention after it starts at 3, not 2.
        inbound = self._group_text(
            line_fixtures, "🙏 @bot ขอบคุณ", [{"index": 3, "length": 4, "type": "user", "isSelf": True}]
        )
        assert inbound.text == "🙏 ขอบคุณ"

    def test_mentioning_all_does_not_address_the_bot(self, line_fixtures: LineFixtures) -> None:
        inbound = self._group_text(line_fixtures, "@All ประชุม", [{"index": 0, "length": 4, "type": "all"}])
        assert inbound.kind == InboundKind.IGNORED

    def test_room_messages_are_keyed_on_the_room(self, line_fixtures: LineFixtures) -> None:
        events = parse_fixture(line_fixtures, "python-sdk_v3_webhook_all_event_types")
        room_text = events[15]
        assert room_text.user_id == "Ra8dbf4673c4c812cd491258042226c99" and not room_text.addressed

    def test_unsend_in_a_group_targets_the_groups_message(self, line_fixtures: LineFixtures) -> None:
        (inbound,) = parse_fixture(line_fixtures, "ruby-sdk_unsend_event")
        assert inbound.kind == InboundKind.UNSEND
        assert inbound.user_id == "Ca56f94637c..." and inbound.target_external_message_id == "325708"
