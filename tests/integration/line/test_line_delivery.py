"""Delivery through LINE with the real workers: reply or push, retries, give-up, metrics.

On SQLite; ``TestOutboxRows`` on PostgreSQL too: the outbox's claims and updates differ between them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from app.conversations import service
from app.conversations.models import Conversation, DeliveryStatus, Message, Sender
from app.db.schema import utcnow
from tests.conftest import ADMIN_PASSWORD, wait_for
from tests.fakes.line.api import Scripted
from tests.integration.line.conftest import REPLY_TIMEOUT, LineHub

QUESTION = "จดทะเบียนบริษัทออนไลน์ได้ไหม"
SERVER_ERROR = Scripted(500, {"message": "An error occurred in the server"})


@pytest.fixture
def hub_database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url  # reply or push, back-off, give-up: the fake platform decides them


async def answers(line: LineHub, chat_id: str) -> list[Message]:
    return [m for m in await line.messages(chat_id) if m.direction == "out"]


async def settled(line: LineHub, chat_id: str, count: int = 1) -> list[Message]:
    """Wait until ``count`` answers exist and none is pending any more."""

    async def done() -> list[Message] | None:
        rows = await answers(line, chat_id)
        if len(rows) >= count and all(m.delivery_status != DeliveryStatus.PENDING for m in rows):
            return rows
        return None

    result: list[Message] = await wait_for(done, REPLY_TIMEOUT)
    return result


async def counted(line: LineHub, sample: str) -> None:
    """Wait for a metric sample: the worker counts a delivery just after storing its status."""

    async def shown() -> bool:
        return sample in (await line.client.get("/metrics")).text

    await wait_for(shown, REPLY_TIMEOUT)


class TestOutboxRows:
    """An answer sent, a batch of answers, a retry and a failure, as the outbox stores them."""

    @pytest.fixture
    def hub_database_url(self, database_url: str) -> str:
        return database_url  # the outbox's claims and updates differ between the databases

    async def test_a_fresh_token_is_used_and_counted_as_reply(self, line: LineHub) -> None:
        await line.post(line.text("Ureply", QUESTION))
        (answer,) = await settled(line, "Ureply")
        assert (answer.delivery_status, answer.delivered_via) == (DeliveryStatus.SENT, "reply")
        assert line.fake.requests("push") == []
        await counted(line, 'govchat_messages_out_total{channel="line",via="reply"} 1.0')

    async def test_more_than_five_answers_go_five_by_reply_then_by_push(self, line: LineHub) -> None:
        await line.post(line.text("Umany", QUESTION))
        await settled(line, "Umany")
        conversation = await line.conversation("Umany")
        assert conversation is not None
        token = line.fake.issue_reply_token("Umany")
        async with line.services.sessionmaker() as session, session.begin():
            row = await session.get(Conversation, conversation.id)
            assert row is not None
            for n in range(7):
                session.add(
                    service.new_outbound(
                        row,
                        f"ข้อความที่ {n}",
                        reply_token=token,
                        reply_token_expires_at=utcnow() + dt.timedelta(seconds=40),
                    )
                )
        line.services.workers.notify_delivery()
        rows = await settled(line, "Umany", count=8)
        assert [len(d.messages) for d in line.fake.deliveries("Umany")][1:] in ([5, 1, 1], [5, 2])
        assert [m.delivered_via for m in rows[1:]] == ["reply"] * 5 + ["push"] * 2
        assert line.fake.delivered_texts("Umany")[1:] == [f"ข้อความที่ {n}" for n in range(7)]

    async def test_500_500_200_is_delivered_once(self, line: LineHub) -> None:
        line.fake.script("reply", SERVER_ERROR, SERVER_ERROR)
        await line.post(line.text("U500", QUESTION))
        (answer,) = await settled(line, "U500")
        assert answer.delivery_status == DeliveryStatus.SENT
        assert [r.status for r in line.fake.requests("reply")] == [500, 500, 200]
        assert len(line.fake.deliveries("U500")) == 1
        assert answer.delivery_attempts == 3

    async def test_a_final_error_marks_the_answer_failed_for_officers(self, line: LineHub) -> None:
        invalid = Scripted(400, {"message": "The request body has 1 error(s)"})
        line.fake.script("push", invalid, invalid)
        await line.post(line.text("Ufinal", QUESTION, age_seconds=120))
        (answer,) = await settled(line, "Ufinal")
        assert answer.delivery_status == DeliveryStatus.FAILED
        assert answer.delivery_error is not None and "LINE API 400" in answer.delivery_error
        card, plain = (r.json["messages"][0]["type"] for r in line.fake.requests("push"))
        assert (card, plain) == ("flex", "text")  # the card, then the same answer as plain text
        login = await line.client.post(
            "/api/officer/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        conversation = await line.conversation("Ufinal")
        assert conversation is not None
        transcript = await line.client.get(
            f"/api/officer/conversations/{conversation.id}",
            headers={"Authorization": f"Bearer {login.json()['token']}"},
        )
        assert transcript.status_code == 200
        outbound = [m for m in transcript.json()["messages"] if m["direction"] == "out"]
        assert [m["delivery_status"] for m in outbound] == ["failed"]


class TestReplyOrPush:
    async def test_an_expired_token_is_not_used_and_the_answer_is_pushed(self, line: LineHub) -> None:
        await line.post(line.text("Ulate", QUESTION, age_seconds=120))
        (answer,) = await settled(line, "Ulate")
        assert answer.delivered_via == "push"
        assert line.fake.requests("reply") == []
        (push,) = line.fake.requests("push")
        assert push.json["to"] == "Ulate" and push.headers["x-line-retry-key"]
        await counted(line, 'govchat_messages_out_total{channel="line",via="push"} 1.0')

    async def test_invalid_reply_token_falls_back_to_push(self, line: LineHub) -> None:
        event = line.text("Uinvalid", QUESTION, fresh_token=False)
        event["replyToken"] = "a-token-line-never-issued"
        await line.post(event)
        (answer,) = await settled(line, "Uinvalid")
        assert answer.delivered_via == "push"
        assert [r.status for r in line.fake.requests("reply")] == [400]
        assert len(line.fake.deliveries("Uinvalid")) == 1

    async def test_an_officer_message_is_pushed_with_its_retry_key(self, line: LineHub) -> None:
        await line.post(line.text("Uofficer", QUESTION))
        await settled(line, "Uofficer")
        conversation = await line.conversation("Uofficer")
        assert conversation is not None
        async with line.services.sessionmaker() as session, session.begin():
            row = await session.get(Conversation, conversation.id)
            assert row is not None
            service.add_outbound(session, row, "เจ้าหน้าที่ตอบค่ะ", sender=Sender.OFFICER)
        line.services.workers.notify_delivery()
        rows = await settled(line, "Uofficer", count=2)
        assert rows[-1].delivered_via == "push"
        assert line.fake.deliveries("Uofficer")[-1].retry_key


class TestRetries:
    async def test_push_500_500_200_is_delivered_once(self, line: LineHub) -> None:
        line.fake.script("push", SERVER_ERROR, SERVER_ERROR)
        await line.post(line.text("Upush500", QUESTION, age_seconds=120))
        (answer,) = await settled(line, "Upush500")
        assert answer.delivery_status == DeliveryStatus.SENT
        assert [r.status for r in line.fake.requests("push")] == [500, 500, 200]
        assert len({r.headers["x-line-retry-key"] for r in line.fake.requests("push")}) == 1
        assert len(line.fake.deliveries("Upush500")) == 1

    async def test_a_push_accepted_but_unanswered_is_not_sent_twice(self, line: LineHub) -> None:
        line.fake.script("push", Scripted(500, accept=True))
        await line.post(line.text("Ulost", QUESTION, age_seconds=120))
        (answer,) = await settled(line, "Ulost")
        assert answer.delivery_status == DeliveryStatus.SENT
        assert [r.status for r in line.fake.requests("push")] == [500, 409]
        assert len(line.fake.deliveries("Ulost")) == 1

    async def test_429_waits_as_long_as_retry_after_says(self, line: LineHub) -> None:
        line.fake.script("reply", Scripted(429, {"message": "Too Many Requests"}, {"Retry-After": "2"}))
        await line.post(line.text("U429", QUESTION))
        (answer,) = await settled(line, "U429")
        first, second = line.fake.requests("reply")
        assert (first.status, second.status) == (429, 200)
        assert second.at - first.at >= 1.9  # the test back-off alone would be 0.05 s
        assert answer.delivery_status == DeliveryStatus.SENT

    async def test_a_card_line_refuses_is_delivered_as_plain_text(self, line: LineHub) -> None:
        line.fake.script(
            "reply", Scripted(400, {"message": "A message (messages[0]) in the request body is invalid"})
        )
        await line.post(line.text("Uplain", QUESTION))
        (answer,) = await settled(line, "Uplain")
        assert answer.delivery_status == DeliveryStatus.SENT
        (delivery,) = line.fake.deliveries("Uplain")
        assert delivery.messages[0]["type"] == "text" and delivery.messages[0]["text"] == answer.text


class TestGivingUp:
    @pytest.fixture
    def line_overrides(self) -> dict[str, Any]:
        return {"GOVCHAT_DELIVERY_MAX_SECONDS": 1.0}

    async def test_endless_server_errors_end_in_failed_after_the_bounded_time(self, line: LineHub) -> None:
        line.fake.script("push", *[SERVER_ERROR] * 200)
        await line.post(line.text("Udown", QUESTION, age_seconds=120))
        (answer,) = await settled(line, "Udown")
        assert answer.delivery_status == DeliveryStatus.FAILED
        assert answer.delivery_error is not None and "500" in answer.delivery_error
        assert line.fake.deliveries("Udown") == []
        await counted(line, 'govchat_delivery_failures_total{channel="line",reason="gave_up"} 1.0')
