"""An English question answered in English by the hub, through Rasa and through the embedded engine.

The question is a held-out paraphrase: neither engine was trained on it. The reply must be the
entry's ``answer_en`` (INTERFACES.md's answer shape, English text).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.conversations.models import Message
from knowledge_base.loader import load_knowledge_base
from nlu.rasa_runner import RasaServer
from tests.conftest import make_settings, running_app, wait_for

QUESTION = "I need an up-to-date company certificate for the bank, how do I get it?"
ENTRY = "company_certificate"


async def _ask(
    settings_overrides: dict[str, str], sqlite_url: str, tmp_path: Path
) -> tuple[dict[str, object], str]:
    """The NLU record of the question and the text of the hub's reply."""
    settings = make_settings(sqlite_url, tmp_path, **settings_overrides)
    async with running_app(settings) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            session = (await client.post("/api/webchat/sessions")).json()
            headers = {"Authorization": f"Bearer {session['token']}"}
            await client.post(
                f"/api/webchat/sessions/{session['session_id']}/messages",
                json={"text": QUESTION, "client_message_id": "en1"},
                headers=headers,
            )
            sessionmaker = app.state.services.sessionmaker

            async def answered() -> tuple[dict[str, object], str] | None:
                async with sessionmaker() as db:
                    nlu = await db.scalar(select(Message.nlu).where(Message.direction == "in"))
                    reply = await db.scalar(select(Message.text).where(Message.direction == "out"))
                return (nlu, reply) if nlu and reply else None

            return await wait_for(answered, timeout=60)


def _english_answer() -> str:
    entry = load_knowledge_base().entry(ENTRY)
    assert entry is not None and entry.answer_en is not None
    return entry.answer_en


@pytest.mark.rasa
async def test_an_english_question_is_answered_in_english_through_rasa(
    ensure_serving: RasaServer, sqlite_url: str, tmp_path: Path
) -> None:
    settings = {
        "RASA_URL": ensure_serving.url,
        "RASA_AUTH_TOKEN": ensure_serving.auth_token,
        "GOVCHAT_NLU_LOCAL_SURE_AT": "1.01",  # Rasa parses it, however sure the embedded engine is
    }
    record, reply = await _ask(settings, sqlite_url, tmp_path)
    assert record["engine"] == "rasa"
    assert (record["action"], record["faq_id"]) == ("answer", ENTRY)
    assert reply.startswith(_english_answer())


async def test_an_english_question_is_answered_in_english_by_the_embedded_engine(
    sqlite_url: str, tmp_path: Path
) -> None:
    record, reply = await _ask({}, sqlite_url, tmp_path)
    assert record["engine"] == "embedded"
    assert (record["action"], record["faq_id"]) == ("answer", ENTRY)
    assert reply.startswith(_english_answer())
