"""The hub answering through the really trained and served Rasa model."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.conversations.models import Message
from nlu.rasa_runner import RasaServer
from tests.conftest import make_settings, running_app, wait_for

pytestmark = pytest.mark.rasa


async def test_a_web_chat_question_is_answered_through_rasa(
    ensure_serving: RasaServer, sqlite_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        sqlite_url, tmp_path, RASA_URL=ensure_serving.url, RASA_AUTH_TOKEN=ensure_serving.auth_token
    )
    async with running_app(settings) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            ready = await client.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["nlu"] == "rasa"
            session = (await client.post("/api/webchat/sessions")).json()
            headers = {"Authorization": f"Bearer {session['token']}"}
            await client.post(
                f"/api/webchat/sessions/{session['session_id']}/messages",
                json={"text": "จดทะเบียนบริษัทออนไลน์ได้ไหมครับ", "client_message_id": "r1"},
                headers=headers,
            )
            sessionmaker = app.state.services.sessionmaker

            async def decided() -> dict[str, object] | None:
                async with sessionmaker() as db:
                    nlu = await db.scalar(select(Message.nlu).where(Message.direction == "in"))
                return nlu if nlu else None

            record = await wait_for(decided, timeout=30)
    assert record["engine"] == "rasa"
    assert record["action"] == "answer"
    assert record["faq_id"] == "company_registration_online"
