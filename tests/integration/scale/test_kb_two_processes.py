"""An approval on one hub process is what another process answers with, at once (PostgreSQL + Redis).

The approving process takes requests only (``GOVCHAT_WORKERS=0``), so the answer can only come
from the other one, and both look at the database for knowledge-base changes only every 300 s:
only the ``kb_published`` event through Redis can make the other answer with the new text.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest

from tests.integration.processes import NEEDS_POSTGRES, HubProcess, StartHubs
from tests.integration.scale.test_two_processes import two_process_environment

pytestmark = [*NEEDS_POSTGRES, pytest.mark.redis]  # its hubs talk through Redis
ENTRY = "online_courses"
QUESTION = "มีคอร์สเรียนออนไลน์ฟรีไหมคะ"
NEW_ANSWER = (
    "เรียนฟรีได้ที่ DBD e-Learning (e-learning.dbd.go.th) ค่ะ สมัครสมาชิกครั้งเดียว"
    " เรียนได้ทุกหลักสูตรผ่านมือถือ และรับวุฒิบัตรได้เมื่อสอบผ่านค่ะ"
)
ANSWER_WITHIN_S = 10.0
PASSWORD = "kb-two-process-password"


@pytest.fixture
def approver_and_answerer(postgres_url: str, hubs: StartHubs) -> tuple[HubProcess, HubProcess]:
    env = {**two_process_environment(postgres_url), "GOVCHAT_KB_CHECK_SECONDS": "300"}
    (answerer,) = hubs(env, "answerer")  # migrates and seeds the database
    (approver,) = hubs({**env, "GOVCHAT_WORKERS": "0"}, "approver")
    return approver, answerer


async def login(http: httpx.AsyncClient, hub: HubProcess, username: str, password: str) -> dict[str, str]:
    response = await http.post(
        f"{hub.url}/api/officer/login", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def supervisor(http: httpx.AsyncClient, hub: HubProcess, admin: dict[str, str]) -> dict[str, str]:
    username = f"supervisor-{uuid.uuid4().hex[:6]}"
    created = await http.post(
        f"{hub.url}/api/admin/officers",
        json={"username": username, "password": PASSWORD, "departments": ["general"], "role": "supervisor"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    return await login(http, hub, username, PASSWORD)


async def first_reply(http: httpx.AsyncClient, hub: HubProcess, text: str) -> dict[str, Any]:
    session = (await http.post(f"{hub.url}/api/webchat/sessions")).json()
    headers = {"Authorization": f"Bearer {session['token']}"}
    url = f"{hub.url}/api/webchat/sessions/{session['session_id']}/messages"
    sent = await http.post(url, json={"text": text, "client_message_id": uuid.uuid4().hex}, headers=headers)
    assert sent.status_code == 202
    deadline = time.monotonic() + ANSWER_WITHIN_S
    while time.monotonic() < deadline:
        replies = [
            m for m in (await http.get(url, headers=headers)).json()["messages"] if m["direction"] == "out"
        ]
        if replies:
            return dict(replies[0])
        await asyncio.sleep(0.02)
    pytest.fail(f"no answer within {ANSWER_WITHIN_S} s")


async def test_the_other_process_answers_with_the_approved_text_at_once(
    approver_and_answerer: tuple[HubProcess, HubProcess], record_property: Any
) -> None:
    approver, answerer = approver_and_answerer
    async with httpx.AsyncClient(timeout=10) as http:
        admin = await login(http, approver, "admin", "admin-test-password")
        author, reviewer = await supervisor(http, approver, admin), await supervisor(http, approver, admin)
        assert NEW_ANSWER not in (await first_reply(http, answerer, QUESTION))["text"]
        proposed = await http.post(
            f"{approver.url}/api/admin/kb/changes",
            json={"entry_id": ENTRY, "department": "general", "fields": {"answer": NEW_ANSWER}},
            headers=author,
        )
        assert proposed.status_code == 201, proposed.text
        approved = await http.post(
            f"{approver.url}/api/admin/kb/changes/{proposed.json()['change_id']}/approve", headers=reviewer
        )
        assert approved.status_code == 200, approved.text
        started = time.perf_counter()
        reply = await first_reply(http, answerer, QUESTION)
        elapsed_ms = (time.perf_counter() - started) * 1000
    record_property("approval_to_other_process_answer_ms", round(elapsed_ms))
    print(f"\napproval -> the other process's answer with the new text: {elapsed_ms:.0f} ms")
    assert "รับวุฒิบัตรได้เมื่อสอบผ่าน" in reply["text"], reply["text"]
