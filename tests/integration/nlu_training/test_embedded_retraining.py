"""A question added to the knowledge base at run time is answered once the embedded engine has
retrained in the background; meanwhile the old engine answers, and the editor sees the state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.officers.models import Role
from app.services import Services
from app.settings import Settings
from knowledge_base.loader import KnowledgeBase
from nlu.client import NluClient
from tests.conftest import make_settings, running_app, wait_for
from tests.integration.insights.conftest import officer_headers
from tests.integration.nlu_training.kb_edits import (
    KNOWN_ENTRY,
    KNOWN_QUESTION,
    NEW_QUESTION,
    TARGET_ENTRY,
    WebChatCitizen,
    add_question,
    copy_knowledge_base,
)

# Training the engine took 34-42 s with the machine at load 12 (two cores, other test runs): room for more.
RETRAINING_TIMEOUT = 300


@pytest.fixture
def hub_database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url  # retraining does not depend on the database


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    return copy_knowledge_base(tmp_path / "kb")


@pytest.fixture
def settings(hub_database_url: str, tmp_path: Path, kb_dir: Path) -> Settings:
    return make_settings(hub_database_url, tmp_path, GOVCHAT_KB_DIR=kb_dir)


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    async with running_app(settings) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            yield app.state.services, client


class GatedTraining:
    """The hub's own training, held until the test opens the gate: the window in which the old
    engine must keep answering."""

    def __init__(self, services: Services) -> None:
        self.gate = asyncio.Event()
        self.started = 0
        self._train = services.training._train_embedded
        services.training._train_embedded = self

    async def __call__(self, kb: KnowledgeBase, digest: str) -> NluClient:
        self.started += 1
        await self.gate.wait()
        return await self._train(kb, digest)


async def _add_question(services: Services, kb_dir: Path, question: str) -> None:
    add_question(kb_dir, TARGET_ENTRY, question)
    assert await asyncio.to_thread(services.kb.store.reload)


async def test_an_added_question_is_answered_after_the_retraining_and_the_old_engine_answers_meanwhile(
    hub: tuple[Services, httpx.AsyncClient], kb_dir: Path
) -> None:
    services, client = hub
    citizen = WebChatCitizen(client, services)
    before = await citizen.ask(NEW_QUESTION)
    assert (before["action"], before["faq_id"]) != ("answer", TARGET_ENTRY)
    gated = GatedTraining(services)
    old_model = services.training.embedded.model

    await _add_question(services, kb_dir, NEW_QUESTION)
    await wait_for(lambda: gated.started == 1)
    for _ in range(3):  # while it trains, the old engine answers: no error, no wait
        meanwhile = await citizen.ask(KNOWN_QUESTION)
        assert (meanwhile["action"], meanwhile["faq_id"]) == ("answer", KNOWN_ENTRY)
    assert services.training.embedded.model == old_model
    gated.gate.set()

    await wait_for(lambda: services.training.embedded.model != old_model, timeout=RETRAINING_TIMEOUT)
    after = await citizen.ask(NEW_QUESTION)
    assert (after["action"], after["faq_id"], after["engine"]) == ("answer", TARGET_ENTRY, "embedded")


async def test_the_editor_sees_the_training_then_the_new_model_and_officers_are_refused(
    hub: tuple[Services, httpx.AsyncClient], kb_dir: Path
) -> None:
    services, client = hub
    supervisor = await officer_headers(client, services, Role.SUPERVISOR)
    officer = await officer_headers(client, services, Role.OFFICER)
    assert (await client.get("/api/admin/kb/training", headers=officer)).status_code == 403
    assert (await client.get("/api/admin/kb/training")).status_code == 401
    idle = (await client.get("/api/admin/kb/training", headers=supervisor)).json()
    assert (idle["state"], idle["engine"], idle["pending_questions"]) == ("idle", "embedded", False)
    gated = GatedTraining(services)

    await _add_question(services, kb_dir, NEW_QUESTION)
    await wait_for(lambda: gated.started == 1)
    training = (await client.get("/api/admin/kb/training", headers=supervisor)).json()
    assert (training["state"], training["pending_questions"], training["error"]) == ("training", True, None)
    assert training["model"] == idle["model"] and training["started_at"]
    gated.gate.set()

    async def ready() -> dict[str, Any] | None:
        status: dict[str, Any] = (await client.get("/api/admin/kb/training", headers=supervisor)).json()
        return status if status["state"] == "idle" else None

    done = await wait_for(ready, timeout=RETRAINING_TIMEOUT)
    assert done["model"] != idle["model"] and done["pending_questions"] is False
    assert done["finished_at"] and done["started_at"] == training["started_at"]


async def test_changes_during_a_training_are_coalesced_into_one_more_training(
    hub: tuple[Services, httpx.AsyncClient], kb_dir: Path
) -> None:
    services, _client = hub
    gated = GatedTraining(services)
    await _add_question(services, kb_dir, NEW_QUESTION)
    await wait_for(lambda: gated.started == 1)
    for n in range(3):  # three more approvals while the first training runs
        await _add_question(services, kb_dir, f"{NEW_QUESTION} แบบที่ {n}")
    gated.gate.set()

    latest = services.training.training_digest(services.kb.store.current)
    await wait_for(
        lambda: services.training.embedded.model == latest and services.training.idle,
        timeout=RETRAINING_TIMEOUT,
    )
    assert gated.started == 2


async def test_a_change_that_leaves_the_training_data_alone_trains_nothing(
    hub: tuple[Services, httpx.AsyncClient], kb_dir: Path
) -> None:
    services, _client = hub
    gated = GatedTraining(services)
    rounds = services.training.rounds
    departments = kb_dir / "departments.yml"
    departments.write_text(departments.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    assert await asyncio.to_thread(services.kb.store.reload)
    await wait_for(lambda: services.training.rounds > rounds and services.training.idle, timeout=30)
    assert gated.started == 0
