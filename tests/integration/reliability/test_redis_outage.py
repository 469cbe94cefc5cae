"""Redis carries notifications only: with Redis unreachable the hub still takes and answers messages."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.conversations.models import DeliveryStatus
from tests.conftest import free_port, wait_for
from tests.integration.line.conftest import LineHub

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

QUESTIONS = ("สวัสดีครับ", "จดทะเบียนบริษัทออนไลน์ได้ไหม", "ยื่นงบการเงินออนไลน์ยังไง")


@pytest.fixture
def line_overrides() -> dict[str, Any]:
    return {"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}  # nobody listens there


async def test_line_messages_are_answered_while_redis_is_unreachable(
    line: LineHub, caplog: pytest.LogCaptureFixture
) -> None:
    users = [f"Unoredis{n}" for n in range(4)]
    for user_id in users:
        for text in QUESTIONS:
            assert (await line.post(line.text(user_id, text))).status_code == 200

    async def all_sent() -> bool:
        for user_id in users:
            answers = [m for m in await line.messages(user_id) if m.direction == "out"]
            if len(answers) < len(QUESTIONS) or any(
                m.delivery_status != DeliveryStatus.SENT for m in answers
            ):
                return False
        return True

    await wait_for(all_sent, timeout=30, interval=0.2)
    assert all(len(line.fake.delivered_texts(u)) == len(QUESTIONS) for u in users)
    # A notification that could not go out is not a failed work item (each of those costs a pause).
    failures = {"work_item_failed", "delivery_failed_unexpectedly", "delivery_adapter_error"}
    assert not [r.getMessage() for r in caplog.records if r.getMessage() in failures]


async def test_a_web_chat_message_is_accepted_while_redis_is_unreachable(client: httpx.AsyncClient) -> None:
    session = (await client.post("/api/webchat/sessions")).json()
    headers = {"Authorization": f"Bearer {session['token']}"}
    url = f"/api/webchat/sessions/{session['session_id']}/messages"
    sent = await client.post(url, json={"text": "สวัสดีครับ", "client_message_id": "c1"}, headers=headers)
    assert sent.status_code == 202

    async def bot_answered() -> bool:
        messages = (await client.get(url, headers=headers)).json()["messages"]
        return any(m["sender"] == "bot" for m in messages)

    await wait_for(bot_answered, timeout=30, interval=0.2)
