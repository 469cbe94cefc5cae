"""The hub answering through the really trained and served Rasa model, and the local-first cascade
in front of it (``nlu.cascade``): what the embedded engine is sure of never reaches Rasa."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.conversations.models import Message
from nlu.rasa_runner import RasaServer
from tests.conftest import make_settings, running_app, wait_for

pytestmark = pytest.mark.rasa

# A question the knowledge base trains on, word for word: the embedded engine is sure of it.
SURE = "จดทะเบียนบริษัทออนไลน์ยังไงคะ"
# A held-out question with two typos, of which the embedded engine's sparse model is unsure.
UNSURE = "ปิดบริสัทยังงัยคะ"
RASA_ONLY = "1.01"  # GOVCHAT_NLU_LOCAL_SURE_AT above 1: Rasa parses every message


async def _records(server: RasaServer, sqlite_url: str, tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """Each message's NLU record, by text, from a hub using ``server``."""
    settings = make_settings(
        sqlite_url, tmp_path, RASA_URL=server.url, RASA_AUTH_TOKEN=server.auth_token, **overrides
    )
    async with running_app(settings) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            ready = await client.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["nlu"] == "rasa"
            for number, text in enumerate((SURE, UNSURE)):
                session = (await client.post("/api/webchat/sessions")).json()
                await client.post(
                    f"/api/webchat/sessions/{session['session_id']}/messages",
                    json={"text": text, "client_message_id": f"r{number}"},
                    headers={"Authorization": f"Bearer {session['token']}"},
                )
            sessionmaker = app.state.services.sessionmaker

            async def decided() -> dict[str, Any] | None:
                async with sessionmaker() as db:
                    rows = (
                        await db.execute(select(Message.text, Message.nlu).where(Message.direction == "in"))
                    ).all()
                records = {text: nlu for text, nlu in rows if nlu}
                return records if len(records) == 2 else None

            result: dict[str, Any] = await wait_for(decided, timeout=30)
            return result


async def test_rasa_parses_only_what_the_embedded_engine_is_unsure_of(
    ensure_serving: RasaServer, sqlite_url: str, tmp_path: Path
) -> None:
    records = await _records(ensure_serving, sqlite_url, tmp_path)
    assert (records[SURE]["engine"], records[SURE]["faq_id"]) == ("embedded", "company_registration_online")
    assert (records[UNSURE]["engine"], records[UNSURE]["faq_id"]) == ("rasa", "company_dissolution")


async def test_with_the_cascade_off_rasa_parses_every_message(
    ensure_serving: RasaServer, sqlite_url: str, tmp_path: Path
) -> None:
    records = await _records(ensure_serving, sqlite_url, tmp_path, GOVCHAT_NLU_LOCAL_SURE_AT=RASA_ONLY)
    assert {record["engine"] for record in records.values()} == {"rasa"}
    assert records[SURE]["action"] == "answer"
    assert records[SURE]["faq_id"] == "company_registration_online"
