"""MessengerAdapter against the fake Graph API: signatures, windows, Send API calls and errors."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Any

import pytest

from channels.base import (
    Channel,
    FaqCard,
    FinalSendError,
    InboundKind,
    InboundMessage,
    OutboundMessage,
    RetryableSendError,
    SignatureError,
)
from channels.facebook.adapter import BOT_OUTSIDE_WINDOW, CONFIG_ERROR_KEY, MessengerAdapter
from channels.facebook.messages import MessengerLabels
from tests.conftest import free_port
from tests.fakes.facebook.graph_api import (
    PAGE_ACCESS_TOKEN,
    VERIFY_TOKEN,
    FakeGraphApi,
    GraphFailure,
    MessengerFixtures,
    graph_api,
    invalid_token,
    messenger_fixtures,
    outside_window,
    rate_limited,
    server_error,
    temporary_send_failure,
    too_many_requests,
    user_unavailable,
)

__all__ = ["graph_api", "messenger_fixtures"]

LABELS = MessengerLabels(source="ดูข้อมูลทางการ", human="คุยกับเจ้าหน้าที่", cancel="ยกเลิก")
VECTORS = MessengerFixtures().vectors()
USER = "1134343043305865"
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def _adapter(fixtures: MessengerFixtures, base_url: str, config_errors: dict[str, str]) -> MessengerAdapter:
    return MessengerAdapter(
        app_secret=fixtures.app_secret,
        verify_token=VERIFY_TOKEN,
        page_access_token=PAGE_ACCESS_TOKEN,
        graph_api_base_url=base_url,
        labels=LABELS,
        config_errors=config_errors,
        timeout_seconds=5.0,
    )


@pytest.fixture
def config_errors() -> dict[str, str]:
    return {}


@pytest.fixture
async def adapter(
    messenger_fixtures: MessengerFixtures, graph_api: FakeGraphApi, config_errors: dict[str, str]
) -> AsyncIterator[MessengerAdapter]:
    result = _adapter(messenger_fixtures, graph_api.base_url, config_errors)
    yield result
    await result.aclose()


def _outbound(
    text: str = "สวัสดีค่ะ",
    *,
    sender: str = "bot",
    age: dt.timedelta | None = dt.timedelta(minutes=1),
    faq: FaqCard | None = None,
    message_id: str = "41",
) -> OutboundMessage:
    return OutboundMessage(
        message_id=message_id,
        conversation_id="c1",
        user_id=USER,
        text=text,
        sender=sender,
        faq=faq,
        retry_key=f"retry-{message_id}",
        last_inbound_at=dt.datetime.now(dt.UTC) - age if age is not None else None,
    )


def _inbound(
    addressed: bool = True, user_id: str = USER, kind: InboundKind = InboundKind.TEXT
) -> InboundMessage:
    return InboundMessage(
        channel=Channel.FACEBOOK,
        dedupe_key="m_1",
        user_id=user_id,
        kind=kind,
        timestamp=NOW,
        text="สวัสดี",
        addressed=addressed,
    )


class TestSignature:
    @pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
    def test_signature_vectors_pass_or_fail_as_labelled(
        self, messenger_fixtures: MessengerFixtures, vector: dict[str, Any]
    ) -> None:
        adapter = _adapter(messenger_fixtures, "http://127.0.0.1:9/v21.0", {})
        body = messenger_fixtures.vector_body(vector)
        headers = {vector["header"]: vector["signature"]}

        if vector["expected_valid"]:
            adapter.parse_webhook(body, headers)
        else:
            with pytest.raises(SignatureError):
                adapter.parse_webhook(body, headers)

    def test_a_missing_signature_is_refused(self, messenger_fixtures: MessengerFixtures) -> None:
        adapter = _adapter(messenger_fixtures, "http://127.0.0.1:9/v21.0", {})

        with pytest.raises(SignatureError, match="missing"):
            adapter.parse_webhook(messenger_fixtures.body("fbmq_message_text"), {})

    def test_the_legacy_sha1_header_alone_is_not_accepted(
        self, messenger_fixtures: MessengerFixtures
    ) -> None:
        adapter = _adapter(messenger_fixtures, "http://127.0.0.1:9/v21.0", {})
        body = messenger_fixtures.body("fbmq_message_text")
        sha1 = "sha1=" + hmac.new(messenger_fixtures.app_secret.encode(), body, hashlib.sha1).hexdigest()

        with pytest.raises(SignatureError):
            adapter.parse_webhook(body, {"X-Hub-Signature": sha1})


class TestSubscription:
    @pytest.mark.parametrize(
        ("mode", "token", "expected"),
        [
            ("subscribe", VERIFY_TOKEN, "1158201444"),
            ("subscribe", "wrong", None),
            ("unsubscribe", VERIFY_TOKEN, None),
            (None, VERIFY_TOKEN, None),
            ("subscribe", None, None),
        ],
    )
    def test_the_challenge_is_echoed_only_for_our_verify_token(
        self, messenger_fixtures: MessengerFixtures, mode: str | None, token: str | None, expected: str | None
    ) -> None:
        adapter = _adapter(messenger_fixtures, "http://127.0.0.1:9/v21.0", {})
        query = {"hub.challenge": "1158201444"}
        query.update({"hub.mode": mode} if mode is not None else {})
        query.update({"hub.verify_token": token} if token is not None else {})

        assert adapter.answer_subscription_check(query) == expected


class TestWindows:
    async def test_a_bot_reply_inside_24_hours_is_a_response(
        self, adapter: MessengerAdapter, graph_api: FakeGraphApi
    ) -> None:
        [result] = await adapter.send([_outbound()])

        [request] = graph_api.messages()
        assert request.body["messaging_type"] == "RESPONSE"
        assert "tag" not in request.body
        assert request.body["recipient"] == {"id": USER}
        assert request.message == {"text": "สวัสดีค่ะ"}
        assert (result.message_id, result.via, result.platform_message_id) == ("41", "send", "m_1")

    async def test_every_call_goes_to_the_configured_graph_base_with_token_and_proof(
        self, adapter: MessengerAdapter, graph_api: FakeGraphApi, messenger_fixtures: MessengerFixtures
    ) -> None:
        await adapter.send([_outbound()])

        [request] = graph_api.messages()
        assert request.path == "/v21.0/me/messages"
        assert request.params["access_token"] == PAGE_ACCESS_TOKEN
        key = messenger_fixtures.app_secret.encode()
        assert (
            request.params["appsecret_proof"]
            == hmac.new(key, PAGE_ACCESS_TOKEN.encode(), "sha256").hexdigest()
        )

    async def test_an_officer_reply_inside_24_hours_carries_no_tag(
        self, adapter: MessengerAdapter, graph_api: FakeGraphApi
    ) -> None:
        await adapter.send([_outbound(sender="officer", age=dt.timedelta(hours=3))])

        assert graph_api.messages()[0].body["messaging_type"] == "RESPONSE"

    async def test_an_officer_reply_after_24_hours_is_tagged_human_agent(
        self, adapter: MessengerAdapter, graph_api: FakeGraphApi
    ) -> None:
        await adapter.send([_outbound(sender="officer", age=dt.timedelta(days=2))])

        [request] = graph_api.messages()
        assert request.body["messaging_type"] == "MESSAGE_TAG"
        assert request.body["tag"] == "HUMAN_AGENT"

    async def test_a_bot_message_after_24_hours_is_never_tagged_but_refused(
        self, adapter: MessengerAdapter, graph_api: FakeGraphApi
    ) -> None:
        with pytest.raises(FinalSendError) as raised:
            await adapter.send([_outbound(age=dt.timedelta(days=2))])

        assert raised.value.reason == BOT_OUTSIDE_WINDOW
        assert not raised.value.user_unreachable
        assert graph_api.requests == []

    async def test_an_officer_reply_after_7_days_is_refused_with_the_reason(
        self, adapter: MessengerAdapter, graph_api: FakeGraphApi
    ) -> None:
        with pytest.raises(FinalSendError, match="7 days"):
            await adapter.send([_outbound(sender="officer", age=dt.timedelta(days=8))])

        assert graph_api.requests == []

    @pytest.mark.parametrize(
        ("age", "refused"),
        [
            (dt.timedelta(hours=1), False),
            (dt.timedelta(days=6, hours=23), False),
            (dt.timedelta(days=7), True),
            (dt.timedelta(days=30), True),
        ],
    )
    def test_officer_reply_refusal_follows_the_7_day_rule(
        self, messenger_fixtures: MessengerFixtures, age: dt.timedelta, refused: bool
    ) -> None:
        adapter = _adapter(messenger_fixtures, "http://127.0.0.1:9/v21.0", {})

        reason = adapter.officer_reply_refusal(NOW - age, NOW)

        assert (reason is not None) == refused
        if reason is not None:
            assert "7 วัน" in reason and "7 days" in reason
            assert (NOW - age).astimezone(dt.timezone(dt.timedelta(hours=7))).strftime("%Y-%m-%d") in reason

    def test_no_citizen_message_means_no_officer_reply(self, messenger_fixtures: MessengerFixtures) -> None:
        adapter = _adapter(messenger_fixtures, "http://127.0.0.1:9/v21.0", {})

        assert adapter.officer_reply_refusal(None, NOW) is not None


class TestErrors:
    @pytest.mark.parametrize(
        "failure",
        [server_error(), temporary_send_failure(), rate_limited(613), rate_limited(4), rate_limited(17),
         rate_limited(32), too_many_requests()],
        ids=["500", "1200", "613", "4", "17", "32", "429"],
    )  # fmt: skip
    async def test_server_errors_and_rate_limits_are_retryable(
        self, adapter: MessengerAdapter, graph_api: FakeGraphApi, failure: GraphFailure
    ) -> None:
        graph_api.fail(failure)

        with pytest.raises(RetryableSendError):
            await adapter.send([_outbound()])

    async def test_retry_after_is_passed_on(self, adapter: MessengerAdapter, graph_api: FakeGraphApi) -> None:
        graph_api.fail(too_many_requests(retry_after=7))

        with pytest.raises(RetryableSendError) as raised:
            await adapter.send([_outbound()])

        assert raised.value.retry_after == 7

    async def test_no_answer_is_retryable(
        self, messenger_fixtures: MessengerFixtures, config_errors: dict[str, str]
    ) -> None:
        adapter = _adapter(messenger_fixtures, f"http://127.0.0.1:{free_port()}/v21.0", config_errors)
        try:
            with pytest.raises(RetryableSendError, match="no answer"):
                await adapter.send([_outbound()])
        finally:
            await adapter.aclose()

    async def test_an_invalid_token_is_a_configuration_error_until_a_call_works(
        self, adapter: MessengerAdapter, graph_api: FakeGraphApi, config_errors: dict[str, str]
    ) -> None:
        graph_api.fail(invalid_token())

        with pytest.raises(FinalSendError) as raised:
            await adapter.send([_outbound()])

        assert raised.value.config_error and not raised.value.user_unreachable
        assert "190" in config_errors[CONFIG_ERROR_KEY]
        await adapter.send([_outbound(message_id="42")])
        assert CONFIG_ERROR_KEY not in config_errors

    async def test_a_person_who_cannot_be_reached_is_reported_unreachable(
        self, adapter: MessengerAdapter, graph_api: FakeGraphApi
    ) -> None:
        graph_api.fail(user_unavailable())

        with pytest.raises(FinalSendError) as raised:
            await adapter.send([_outbound()])

        assert raised.value.user_unreachable
        assert "551" in raised.value.reason
        assert len(raised.value.reason) <= 200

    async def test_the_platform_closing_the_window_fails_the_message_only(
        self, adapter: MessengerAdapter, graph_api: FakeGraphApi
    ) -> None:
        graph_api.fail(outside_window())

        with pytest.raises(FinalSendError, match="window") as raised:
            await adapter.send([_outbound()])

        assert not raised.value.user_unreachable and not raised.value.config_error

    async def test_a_long_answer_retried_after_its_second_part_failed_is_not_sent_twice(
        self, adapter: MessengerAdapter, graph_api: FakeGraphApi
    ) -> None:
        card = FaqCard("company_registration_online", "จดทะเบียนบริษัทออนไลน์", "https://www.dbd.go.th")
        message = _outbound("รายละเอียด " * 80, faq=card)
        graph_api.fail(server_error(), after=1)  # the text goes through, the template fails once

        with pytest.raises(RetryableSendError):
            await adapter.send([message])
        await adapter.send([message])

        accepted = [r for r in graph_api.delivered() if r.recipient == USER]
        assert ["text" in r.message for r in accepted if r.message] == [True, False]


class TestSenderActions:
    async def test_processing_shows_the_typing_bubble(
        self, adapter: MessengerAdapter, graph_api: FakeGraphApi
    ) -> None:
        await adapter.show_processing(_inbound())

        [action] = graph_api.sender_actions()
        assert action.body == {"recipient": {"id": USER}, "sender_action": "typing_on"}

    async def test_no_typing_bubble_in_a_thread_another_app_holds(
        self, adapter: MessengerAdapter, graph_api: FakeGraphApi
    ) -> None:
        await adapter.show_processing(_inbound(addressed=False))

        assert graph_api.sender_actions() == []

    async def test_stored_messages_are_marked_seen_once_per_citizen(
        self, adapter: MessengerAdapter, graph_api: FakeGraphApi
    ) -> None:
        other = "2234343043305866"

        await adapter.after_stored([_inbound(), _inbound(), _inbound(user_id=other)])

        actions = [(a.body["recipient"]["id"], a.body["sender_action"]) for a in graph_api.sender_actions()]
        assert actions == [(USER, "mark_seen"), (other, "mark_seen")]

    async def test_nothing_is_marked_seen_in_a_thread_another_app_holds_or_for_a_handover(
        self, adapter: MessengerAdapter, graph_api: FakeGraphApi
    ) -> None:
        handover = _inbound(kind=InboundKind.IGNORED)

        await adapter.after_stored([_inbound(addressed=False), handover])

        assert graph_api.sender_actions() == []

    async def test_a_failing_sender_action_is_harmless(
        self, adapter: MessengerAdapter, graph_api: FakeGraphApi
    ) -> None:
        graph_api.fail(server_error(), kind="sender_action")

        await adapter.show_processing(_inbound())  # no exception
