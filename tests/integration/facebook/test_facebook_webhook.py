"""``GET``/``POST /webhooks/facebook`` against INTERFACES.md, with the official bodies, on SQLite.

``TestIntake`` runs on PostgreSQL too: intake's statements and its unique key differ between them.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from channels.base import InboundKind
from tests.conftest import make_settings, queue_drained, running_app
from tests.fakes.facebook.graph_api import VERIFY_TOKEN, FakeGraphApi, MessengerFixtures, first_event
from tests.integration.facebook.conftest import Messenger

VECTORS = MessengerFixtures().vectors()
CITIZEN = "1134343043305865"  # the sender of the fbmq_* bodies
CHALLENGE = "1158201444"


@pytest.fixture
def hub_database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url  # verification, signatures, event mapping: the database cannot change them


def _subscribe(token: str = VERIFY_TOKEN, mode: str = "subscribe") -> dict[str, str]:
    return {"hub.mode": mode, "hub.verify_token": token, "hub.challenge": CHALLENGE}


def _as_standby(data: dict[str, Any]) -> None:
    entry = data["entry"][0]
    entry["standby"] = entry.pop("messaging")


class TestSubscriptionCheck:
    async def test_the_right_verify_token_gets_the_bare_challenge_as_text(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/webhooks/facebook", params=_subscribe())

        assert response.status_code == 200
        assert response.text == CHALLENGE
        assert response.headers["content-type"].startswith("text/plain")

    async def test_a_wrong_token_or_mode_is_forbidden(self, client: httpx.AsyncClient) -> None:
        for params in (_subscribe("wrong"), _subscribe(mode="unsubscribe"), {"hub.challenge": CHALLENGE}):
            response = await client.get("/webhooks/facebook", params=params)

            assert response.status_code == 403, params
            assert CHALLENGE not in response.text

    async def test_without_credentials_both_calls_answer_503(
        self, sqlite_database_url: str, tmp_path: Path, messenger_fixtures: MessengerFixtures
    ) -> None:
        body = messenger_fixtures.body("fbmq_message_text")
        async with running_app(make_settings(sqlite_database_url, tmp_path)) as app:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
                got = await client.get("/webhooks/facebook", params=_subscribe())
                posted = await client.post(
                    "/webhooks/facebook", content=body, headers=messenger_fixtures.headers(body)
                )

        assert (got.status_code, posted.status_code) == (503, 503)


class TestSignature:
    async def test_signature_vectors_are_accepted_or_refused_as_labelled(self, messenger: Messenger) -> None:
        refused = [v for v in VECTORS if not v["expected_valid"]]
        accepted = [v for v in VECTORS if v["expected_valid"]]
        assert refused and accepted

        for vector in refused:
            body = messenger.fixtures.vector_body(vector)
            response = await messenger.post(body, {vector["header"]: vector["signature"]})
            assert response.status_code == 401, vector["id"]
        assert await messenger.work_items() == []
        assert await messenger.messages() == []

        for vector in accepted:
            body = messenger.fixtures.vector_body(vector)
            response = await messenger.post(body, {vector["header"]: vector["signature"]})
            assert response.status_code == 200, (vector["id"], response.text)

    async def test_a_missing_signature_is_401_and_nothing_is_stored(self, messenger: Messenger) -> None:
        response = await messenger.post(messenger.fixtures.body("fbmq_message_text"), {})

        assert response.status_code == 401
        assert await messenger.work_items() == []

    async def test_the_legacy_sha1_header_is_not_accepted(self, messenger: Messenger) -> None:
        body = messenger.fixtures.body("fbmq_message_text")
        sha1 = next(v for v in VECTORS if v["id"] == "wrong-legacy-sha1")["signature"]

        response = await messenger.post(body, {"X-Hub-Signature": sha1})

        assert response.status_code == 401
        assert await messenger.work_items() == []

    async def test_a_body_signed_with_another_secret_stores_nothing(self, messenger: Messenger) -> None:
        body = messenger.fixtures.body("fbmq_message_text")
        headers = {"X-Hub-Signature-256": messenger.fixtures.sign(body, "another-secret")}

        response = await messenger.post(body, headers)

        assert response.status_code == 401
        assert await messenger.work_items() == []
        assert messenger.graph.requests == []


class TestSchema:
    async def test_signed_but_not_json_is_400_with_a_reason(self, messenger: Messenger) -> None:
        response = await messenger.post(b"{not json")

        assert response.status_code == 400
        assert "not JSON" in response.json()["detail"]
        assert await messenger.work_items() == []

    async def test_an_object_other_than_page_is_400_and_nothing_is_stored(self, messenger: Messenger) -> None:
        response = await messenger.post_fixture("fbmq_invalid_object_not_a_page")

        assert response.status_code == 400
        assert "page" in response.json()["detail"]
        assert await messenger.work_items() == []
        assert await messenger.messages() == []


class TestIntake:
    """What intake stores: a text, a redelivered mid once, a batch of chats, an event kept without reply."""

    @pytest.fixture
    def hub_database_url(self, database_url: str) -> str:
        return database_url  # intake's statements and its unique key differ between the databases

    async def test_a_text_is_stored_before_200_and_answered_later(self, messenger: Messenger) -> None:
        response = await messenger.post_fixture("fbmq_message_text")

        assert response.status_code == 200
        [item] = await messenger.work_items()
        assert (item.kind, item.dedupe_key) == (InboundKind.TEXT, "mid.1472026867074:cfb5e1d4bde07a2a55")
        [inbound] = await messenger.messages("in")
        assert inbound.text == "hello world"
        assert await messenger.delivered_to(CITIZEN)

    async def test_a_duplicate_mid_is_stored_and_answered_once(self, messenger: Messenger) -> None:
        body = messenger.fixtures.body("fbmq_message_text")

        first, second = await asyncio.gather(messenger.post(body), messenger.post(body))
        third = await messenger.post(body)

        assert {first.status_code, second.status_code, third.status_code} == {200}
        assert len(await messenger.work_items()) == 1
        await messenger.delivered_to(CITIZEN)
        await queue_drained(messenger.services)  # a second answer would have been sent by now
        replies = await messenger.messages("out")
        assert len(replies) >= 1
        assert len(messenger.graph.delivered(CITIZEN)) == len(replies)
        assert len(await messenger.messages("in")) == 1

    async def test_a_batch_stores_every_event(self, messenger: Messenger) -> None:
        batch = messenger.fixtures.event("fbmq_message_text")
        batch["entry"].append(messenger.fixtures.event("gem_message_file")["entry"][0])
        batch["entry"][0]["messaging"].append(first_event(messenger.fixtures.event("fbmq_read")))

        response = await messenger.post(json.dumps(batch).encode())

        assert response.status_code == 200
        assert [i.kind for i in await messenger.work_items()] == [InboundKind.TEXT, InboundKind.ATTACHMENT]
        await messenger.delivered_to(CITIZEN)
        await messenger.delivered_to("5")

    async def test_a_handover_is_on_the_record(self, messenger: Messenger) -> None:
        response = await messenger.post_fixture("gem_handover_pass_thread_control")

        assert response.status_code == 200
        [item] = await messenger.work_items()
        assert (item.kind, item.event_type) == (InboundKind.IGNORED, "pass_thread_control")
        assert item.payload["extra"]["new_owner_app_id"] == "123456789"
        assert await messenger.messages() == []


class TestMessages:
    async def test_the_message_is_marked_seen(self, messenger: Messenger) -> None:
        await messenger.post_fixture("fbmq_message_text")

        actions = [a.body["sender_action"] for a in messenger.graph.sender_actions(CITIZEN)]
        assert "mark_seen" in actions

    async def test_integer_ids_are_accepted(self, messenger: Messenger) -> None:
        response = await messenger.post_fixture("fbmessenger_payload_message")

        assert response.status_code == 200
        assert (await messenger.citizen("1234")).external_id == "1234"
        assert await messenger.delivered_to("1234")

    async def test_an_attachment_is_kept_for_officers_and_answered_politely(
        self, messenger: Messenger
    ) -> None:
        await messenger.post_fixture("gem_message_file")

        [inbound] = await messenger.messages("in")
        assert inbound.extra["attachments"][0]["url"] == "https://www.example.com/3.pdf"
        [reply] = await messenger.delivered_to("5")
        attachment_received = messenger.services.responses.attachment_received
        assert reply.text == attachment_received

    async def test_get_started_is_welcomed(self, messenger: Messenger) -> None:
        def get_started(data: dict[str, Any]) -> None:
            first_event(data)["postback"].update(title="Get Started", payload="get_started")

        await messenger.post(messenger.fixtures.derived("fbmq_postback", get_started))

        [reply] = await messenger.delivered_to(CITIZEN)
        assert reply.text == messenger.services.responses.follow


IGNORED = [
    "fbmq_echo_text",
    "gem_echo_text_quick_reply_image",
    "gem_echo_audio",
    "gem_delivery",
    "fbmq_read",
    "gem_message_reaction",
    "gem_optin",
    "gem_referral",
    "fbmq_account_linking",
    "gem_message_request",
    "gem_unknown_event",
    "gem_changes_feed",
    "gem_changes_leadgen",
    "gem_envelope_without_messaging",
]


class TestIgnored:
    async def test_echoes_receipts_and_other_events_are_acknowledged_without_reply(
        self, messenger: Messenger
    ) -> None:
        for name in IGNORED:
            response = await messenger.post_fixture(name)
            assert response.status_code == 200, name

        assert await messenger.work_items() == []
        await queue_drained(messenger.services)  # a reply would have been sent by now
        assert messenger.graph.requests == []


class TestOtherAppsThread:
    async def test_a_standby_message_is_kept_for_the_transcript_without_reply(
        self, messenger: Messenger
    ) -> None:
        body = messenger.fixtures.derived("fbmq_message_text", _as_standby)

        response = await messenger.post(body)

        assert response.status_code == 200
        [inbound] = await messenger.messages("in")
        assert inbound.text == "hello world"
        await messenger.all_handled()
        assert await messenger.messages("out") == []
        assert messenger.graph.requests == []  # no reply, no "seen", no typing bubble


class TestGraphBase:
    async def test_calls_go_to_the_configured_graph_api(
        self, messenger: Messenger, graph_api: FakeGraphApi
    ) -> None:
        await messenger.post_fixture("fbmq_message_text")

        [reply, *_] = await messenger.delivered_to(CITIZEN)
        assert reply.path == "/v21.0/me/messages"
        assert messenger.services.settings.facebook_graph_api_base_url == graph_api.base_url
