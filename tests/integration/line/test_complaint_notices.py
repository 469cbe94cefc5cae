"""Complaint status changes told on LINE: a push with X-Line-Retry-Key (fake LINE API)."""

from __future__ import annotations

import uuid

from app.conversations.models import Conversation
from tests.conftest import ADMIN_PASSWORD
from tests.integration.complaints.helpers import file_case, status_url
from tests.integration.line.conftest import LineHub
from tests.integration.officers.conftest import login

CHAT = "U4af4980629a1b2c3d4e5f60718293a4b"


async def test_each_change_is_pushed_with_its_own_retry_key(line: LineHub) -> None:
    assert (await line.post(line.text(CHAT, "สวัสดีค่ะ"))).status_code == 200
    await line.wait_deliveries(CHAT, 1)  # the bot's reply
    conversation: Conversation | None = await line.conversation(CHAT)
    assert conversation is not None
    number = await file_case(line.services, conversation.id, "ยื่นเอกสารแล้วไม่มีใครติดต่อกลับ")
    headers = await login(line.client, "admin", ADMIN_PASSWORD)

    for status, note in (("in_progress", ""), ("closed", "โทรแจ้งผลแล้วค่ะ")):
        response = await line.client.post(
            status_url(number), json={"status": status, "note": note}, headers=headers
        )
        assert response.status_code == 200, response.text

    deliveries = (await line.wait_deliveries(CHAT, 3))[1:]
    assert [d.via for d in deliveries] == ["push", "push"]
    assert all(d.retry_key is not None and uuid.UUID(d.retry_key) for d in deliveries)
    assert deliveries[0].retry_key != deliveries[1].retry_key
    first, second = (" ".join(d.texts()) for d in deliveries)
    assert number in first and "กำลังดำเนินการ" in first
    assert number in second and "ดำเนินการเสร็จสิ้น" in second and "โทรแจ้งผลแล้วค่ะ" in second
