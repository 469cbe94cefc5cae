"""``POST /webhooks/line`` end to end with the fake LINE API, on SQLite.

On PostgreSQL too where the database decides: what intake stores for each event type, once per
event (a unique key, simultaneous deliveries), in order per chat (the work queue), and an unsend
rewriting a stored message's JSON.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.conversations.models import ConversationState, WorkStatus
from channels.base import InboundKind
from nlu.client import NluClient, Prediction
from tests.conftest import queue_drained, running_app, wait_for
from tests.fakes.line.api import BOT_USER_ID
from tests.fakes.line.fixtures import SIGNATURE_HEADER, LineFixtures
from tests.integration.line.conftest import REPLY_TIMEOUT, LineHub

QUESTION = "จดทะเบียนบริษัทออนไลน์ได้ไหม"


@pytest.fixture
def hub_database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url  # signatures, event mapping, replies: the database cannot change them


class TestVerification:
    async def test_missing_signature_is_rejected_and_nothing_stored(self, line: LineHub) -> None:
        body, _ = line.fixtures.signed(line.fixtures.envelope(line.text("Uc1", QUESTION)))
        response = await line.post_raw(body, {"Content-Type": "application/json"})
        assert response.status_code == 401
        assert await line.work_items() == []

    async def test_wrong_signature_is_rejected_and_nothing_stored(self, line: LineHub) -> None:
        body, headers = line.fixtures.signed(line.fixtures.envelope(line.text("Uc1", QUESTION)))
        headers[SIGNATURE_HEADER] = line.fixtures.sign(body, "not-the-channel-secret")
        response = await line.post_raw(body, headers)
        assert response.status_code == 401
        assert await line.work_items() == []
        assert line.fake.requests() == []

    async def test_signature_vectors_pass_or_fail_as_labelled(self, line: LineHub) -> None:
        checked = 0
        for vector in line.fixtures.vectors():
            if vector.secret != line.fixtures.secret:
                continue  # other secrets: tests/unit/channels/line/test_line_events.py
            response = await line.post_raw(vector.body, {SIGNATURE_HEADER: vector.signature})
            assert (response.status_code == 200) is vector.expected_valid, vector.id
            assert (response.status_code == 401) is not vector.expected_valid, vector.id
            checked += 1
        assert checked >= 8

    async def test_verify_request_is_acknowledged(self, line: LineHub) -> None:
        raw = line.fixtures.raw("ruby-sdk_webhook_verification_empty_events")
        response = await line.post_raw(*line.fixtures.signed(raw))
        assert response.status_code == 200
        assert await line.work_items() == []

    @pytest.mark.parametrize(
        ("body", "reason"),
        [(b"{not json", "not valid JSON"), (b'{"destination": "U1", "events": {}}', "events")],
    )
    async def test_signed_body_that_is_not_the_schema_is_400_and_nothing_stored(
        self, line: LineHub, body: bytes, reason: str
    ) -> None:
        response = await line.post_raw(*line.fixtures.signed(body))
        assert response.status_code == 400
        assert reason in response.json()["detail"]
        assert await line.work_items() == []

    async def test_one_bad_event_refuses_the_whole_batch(self, line: LineHub) -> None:
        broken = line.text("Uc1", QUESTION)
        del broken["message"]["id"]
        response = await line.post(line.text("Uc1", QUESTION), broken)
        assert response.status_code == 400
        assert "events[1].message.id" in response.json()["detail"]
        assert await line.work_items() == []


async def test_secret_not_configured_answers_503(
    sqlite_database_url: str, tmp_path: Path, line_fixtures: LineFixtures
) -> None:
    from tests.conftest import make_settings

    async with running_app(make_settings(sqlite_database_url, tmp_path)) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            body, headers = line_fixtures.signed(line_fixtures.raw("ruby-sdk_minimum_text_message_event"))
            response = await client.post("/webhooks/line", content=body, headers=headers)
    assert response.status_code == 503


class TestEveryEventType:
    @pytest.fixture
    def hub_database_url(self, database_url: str) -> str:
        return database_url  # intake's statements differ between the databases

    async def test_every_fixture_body_is_acknowledged(self, line: LineHub) -> None:
        for name in line.fixtures.names():
            response = await line.post_raw(*line.fixtures.signed(line.fixtures.raw(name)))
            expected = 400 if name == "ruby-sdk-v1_signature_validation_body" else 200
            assert response.status_code == expected, (name, response.text)
        stored = await line.work_items()
        assert len({item.dedupe_key for item in stored}) == len(stored) > 0

    async def test_unknown_event_type_is_acknowledged_and_ignored(self, line: LineHub) -> None:
        response = await line.post_raw(*line.fixtures.signed(line.fixtures.raw("ruby-sdk_unknown_event")))
        assert response.status_code == 200
        (item,) = await line.work_items()
        assert (item.kind, item.event_type, item.status) == (InboundKind.IGNORED, "hoge", WorkStatus.DONE)
        await queue_drained(line.services)
        assert line.fake.requests() == []

    async def test_distinct_events_of_a_shared_id_body_are_all_stored_once_refreshed(
        self, line: LineHub
    ) -> None:
        body = line.fixtures.body("python-sdk_v3_webhook_all_event_types")
        events = [line.fixtures.fresh(e, age_seconds=600) for e in body["events"]]
        response = await line.post(*events)
        assert response.status_code == 200
        assert len(await line.work_items()) == len(events)


class TestOncePerEvent:
    @pytest.fixture
    def hub_database_url(self, database_url: str) -> str:
        return database_url  # a unique key, also under simultaneous inserts

    async def test_a_redelivered_event_is_answered_once(self, line: LineHub) -> None:
        event = line.text("Uonce", QUESTION)
        assert (await line.post(event)).status_code == 200
        await line.wait_deliveries("Uonce")
        again = {**event, "deliveryContext": {"isRedelivery": True}}
        assert (await line.post(again)).status_code == 200
        await queue_drained(line.services)
        assert len(line.fake.deliveries("Uonce")) == 1
        assert len(await line.work_items()) == 1
        assert [m.direction for m in await line.messages("Uonce")] == ["in", "out"]

    async def test_simultaneous_deliveries_of_one_event_store_it_once(self, line: LineHub) -> None:
        event = line.text("Utwice", QUESTION)
        redelivered = {**event, "deliveryContext": {"isRedelivery": True}}
        responses = await asyncio.gather(line.post(event), line.post(redelivered), line.post(event))
        assert [r.status_code for r in responses] == [200, 200, 200]
        await line.wait_deliveries("Utwice")
        await queue_drained(line.services)
        assert len(await line.work_items()) == 1
        assert len(line.fake.deliveries("Utwice")) == 1


class TestOrder:
    @pytest.fixture
    def hub_database_url(self, database_url: str) -> str:
        return database_url  # the work queue's claims keep a chat's events in order

    async def test_three_quick_messages_are_answered_in_order(self, line: LineHub) -> None:
        questions = ["จองชื่อบริษัทออนไลน์ทำยังไง", "ส่งงบการเงินออนไลน์ได้ที่ไหน", "ขอหนังสือรับรองบริษัทออนไลน์"]
        for question in questions:
            assert (await line.post(line.text("Uthree", question))).status_code == 200
        await wait_for(lambda: len(line.fake.delivered_texts("Uthree")) >= 3, REPLY_TIMEOUT)
        stored = [m for m in await line.messages("Uthree")]
        inbound = [m.id for m in stored if m.direction == "in"]
        answers = [m for m in stored if m.direction == "out"]
        assert [a.in_reply_to for a in answers] == inbound
        delivered = line.fake.delivered_texts("Uthree")
        assert delivered == [a.text for a in answers]


class TestAcknowledgement:
    async def test_the_webhook_answers_before_the_reply_is_sent(self, line: LineHub) -> None:
        line.fake.delay("reply", 2.0)
        started = time.monotonic()
        response = await line.post(line.text("Ufast", QUESTION))
        assert response.status_code == 200
        assert time.monotonic() - started < 1.5
        await line.wait_deliveries("Ufast")


class TestEventHandling:
    async def test_a_text_gets_the_faq_answer_as_a_reply_card(self, line: LineHub) -> None:
        await line.post(line.text("Utext", QUESTION))
        (delivery,) = await line.wait_deliveries("Utext")
        assert delivery.via == "reply"
        (message,) = delivery.messages
        assert message["type"] == "flex" and "http" in message["altText"]
        assert message["quickReply"]["items"]

    async def test_a_sticker_gets_a_polite_reply_and_is_kept(self, line: LineHub) -> None:
        await line.post(line.event("ruby-sdk_animation_sticker_message_event", "Usticker"))
        (delivery,) = await line.wait_deliveries("Usticker")
        assert delivery.texts()[0] == line.services.responses.sticker_received
        inbound = (await line.messages("Usticker"))[0]
        assert inbound.extra["attachments"][0]["kind"] == "sticker"

    @pytest.mark.parametrize(
        ("name", "content_type", "suffix"),
        [
            ("ruby-sdk_two_image_message_events", "image/jpeg", ".jpg"),
            ("ruby-sdk_file_message_event", "text/plain", ".txt"),
        ],
    )
    async def test_images_and_files_are_downloaded_for_officers(
        self, line: LineHub, settings: Any, name: str, content_type: str, suffix: str
    ) -> None:
        event = line.event(name, "Ufile")
        line.fake.add_content(event["message"]["id"], b"content of the citizen's file", content_type)
        await line.post(event)
        (delivery,) = await line.wait_deliveries("Ufile")
        assert delivery.texts()[0] == line.services.responses.attachment_received

        async def stored_attachment() -> dict[str, Any] | None:
            inbound = (await line.messages("Ufile"))[0]
            attachment: dict[str, Any] = inbound.extra["attachments"][0]
            return attachment if "stored_path" in attachment else None

        attachment = await wait_for(stored_attachment, REPLY_TIMEOUT)
        assert attachment["stored_path"].startswith("attachments/line/") and attachment[
            "stored_path"
        ].endswith(suffix)
        assert (settings.var_dir / attachment["stored_path"]).read_bytes() == b"content of the citizen's file"

    async def test_follow_greets_and_unfollow_marks_inactive(self, line: LineHub) -> None:
        await line.post(line.event("ruby-sdk_simple_follow_event", "Ufollow"))
        (greeting,) = await line.wait_deliveries("Ufollow")
        assert greeting.texts()[0] == line.services.responses.follow
        await line.post(line.event("ruby-sdk_unfollow_event", "Ufollow"))

        async def inactive() -> bool:
            citizen = await line.citizen("Ufollow")
            return citizen is not None and not citizen.active

        await wait_for(inactive, REPLY_TIMEOUT)

    async def test_postback_human_escalates_to_an_officer(self, line: LineHub) -> None:
        event = line.event("ruby-sdk_rich_menu_selected_postback_event", "Uhuman")
        event["postback"] = {"data": "human"}
        await line.post(event)
        await line.wait_deliveries("Uhuman")
        conversation = await line.conversation("Uhuman")
        assert conversation is not None and conversation.state == ConversationState.WAITING
        assert (await line.messages("Uhuman"))[0].text == "คุยกับเจ้าหน้าที่"

    async def test_postback_faq_answers_that_entry(self, line: LineHub) -> None:
        event = line.event("ruby-sdk_rich_menu_selected_postback_event", "Ufaq")
        event["postback"] = {"data": "faq:company_certificate"}
        await line.post(event)
        (delivery,) = await line.wait_deliveries("Ufaq")
        entry = line.services.kb.store.current.entry("company_certificate")
        assert entry is not None
        assert delivery.messages[0]["contents"]["body"]["contents"][0]["text"] == entry.title


class TestUnsend:
    @pytest.fixture
    def hub_database_url(self, database_url: str) -> str:
        return database_url  # rewrites the stored message's JSON, found by its LINE id

    async def test_unsend_removes_the_text_and_the_stored_file(self, line: LineHub, settings: Any) -> None:
        image = line.event("ruby-sdk_two_image_message_events", "Uunsend")
        line.fake.add_content(image["message"]["id"], b"photo", "image/png")
        await line.post(image)
        await line.wait_deliveries("Uunsend")
        stored = (await line.messages("Uunsend"))[0].extra["attachments"][0]["stored_path"]
        assert (settings.var_dir / stored).exists()
        unsend = line.fixtures.fresh(line.fixtures.event("ruby-sdk_unsend_event"), user_id="Uunsend")
        unsend["unsend"]["messageId"] = image["message"]["id"]
        await line.post(unsend)

        async def removed() -> bool:
            return (await line.messages("Uunsend"))[0].extra == {"unsent": True}

        await wait_for(removed, REPLY_TIMEOUT)
        assert not (settings.var_dir / stored).exists()


class TestGroups:
    def _group_text(self, line: LineHub, text: str, mention_bot: bool) -> dict[str, Any]:
        event = line.fixtures.fresh(
            line.fixtures.event("ruby-sdk_full_text_message_event"), group_id="Cgroup", user_id="Umember"
        )
        event["replyToken"] = line.fake.issue_reply_token("Cgroup")
        event["message"]["text"] = f"@govchat {text}" if mention_bot else text
        event["message"].pop("emojis", None)
        event["message"]["mention"] = {
            "mentionees": [{"index": 0, "length": 8, "type": "user", "userId": BOT_USER_ID}]
            if mention_bot
            else []
        }
        if not mention_bot:
            del event["message"]["mention"]
        return event

    async def test_group_chatter_is_neither_answered_nor_kept(self, line: LineHub) -> None:
        await line.post(self._group_text(line, QUESTION, mention_bot=False))
        await queue_drained(line.services)
        assert line.fake.deliveries() == []
        assert await line.messages("Cgroup") == []
        (item,) = await line.work_items()
        assert item.kind == InboundKind.IGNORED and QUESTION not in str(item.payload)

    async def test_a_mention_is_answered_in_the_group_and_not_in_private(self, line: LineHub) -> None:
        await line.post(line.text("Umember", "ขอคุยกับเจ้าหน้าที่"))  # the member's private chat escalates
        await line.wait_deliveries("Umember")
        await line.post(self._group_text(line, QUESTION, mention_bot=True))
        (delivery,) = await line.wait_deliveries("Cgroup")
        assert delivery.via == "reply" and delivery.messages[0]["type"] == "flex"
        group = await line.conversation("Cgroup")
        private = await line.conversation("Umember")
        assert group is not None and private is not None and group.id != private.id
        assert group.state == ConversationState.BOT  # the private escalation does not leak in
        assert [m.text for m in await line.messages("Cgroup") if m.direction == "in"] == [QUESTION]
        assert line.fake.requests("loading") == []  # no loading animation in groups


class SlowNlu:
    """The hub's NLU, taking its time (as a busy Rasa server would)."""

    def __init__(self, inner: NluClient, seconds: float) -> None:
        self.inner = inner
        self.name = inner.name
        self.seconds = seconds

    async def parse(self, text: str) -> Prediction:
        await asyncio.sleep(self.seconds)
        return await self.inner.parse(text)

    async def is_ready(self) -> bool:
        return await self.inner.is_ready()

    async def aclose(self) -> None:
        return None


class TestLoadingAnimation:
    @pytest.fixture
    def line_overrides(self) -> dict[str, Any]:
        return {"GOVCHAT_PROCESSING_HINT_SECONDS": 0.1}

    async def test_a_slow_answer_starts_the_loading_animation(self, line: LineHub) -> None:
        pipeline = line.services.workers.pipeline
        pipeline.nlu = SlowNlu(pipeline.nlu, 0.6)
        await line.post(line.text("Uloading", QUESTION))
        await line.wait_deliveries("Uloading")
        (call,) = line.fake.requests("loading")
        assert call.json["chatId"] == "Uloading"
        assert call.at <= line.fake.deliveries("Uloading")[0].at

    async def test_a_quick_answer_needs_no_loading_animation(self, line: LineHub) -> None:
        await line.post(line.text("Uquick", QUESTION))
        await line.wait_deliveries("Uquick")
        assert line.fake.requests("loading") == []
