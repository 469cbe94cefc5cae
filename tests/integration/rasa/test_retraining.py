"""Rasa retrained in the background: a question added at run time (to the files, or approved in the
editor) is answered through Rasa once the job has trained and the server has loaded the model; a
failed training leaves the old model serving and says why."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.nlu_training.rasa_job import RasaRetraining
from app.nlu_training.status import MemoryBoard, MemoryLock, RedisBoard, RedisLock, shared_key
from app.officers.models import Role
from app.services import Services
from knowledge_base.loader import load_knowledge_base
from nlu.rasa_env import RasaEnv
from nlu.rasa_http import RasaHttpNlu
from nlu.rasa_models import RasaModels
from nlu.rasa_runner import RasaServer
from nlu.training_data import DEFAULT_CONFIG
from tests.conftest import make_settings, running_app, wait_for
from tests.integration.insights.conftest import officer_headers
from tests.integration.kb.conftest import KB, approve, make_editor, propose
from tests.integration.nlu_training.kb_edits import (
    KNOWN_ENTRY,
    KNOWN_QUESTION,
    NEW_QUESTION,
    TARGET_ENTRY,
    WebChatCitizen,
    add_question,
    copy_knowledge_base,
)

pytestmark = [pytest.mark.rasa, pytest.mark.timeout(1800)]
RASA_ONLY = "1.01"  # the answers checked here are Rasa's, however sure the embedded engine is
# Rasa trains on the knowledge base in about a minute on a loaded machine; the e5 featurizer more.
TRAINING_TIMEOUT = 900


@pytest.fixture
async def served_model_restored(ensure_serving: RasaServer, rasa_model: Path) -> AsyncIterator[RasaServer]:
    """The session's Rasa server, given its own model back after the test swapped another in."""
    yield ensure_serving
    await RasaModels(ensure_serving.url, ensure_serving.auth_token).load_model(rasa_model)


async def test_an_added_question_is_answered_through_rasa_after_the_job_and_the_swap(
    served_model_restored: RasaServer, rasa_model: Path, sqlite_url: str, tmp_path: Path
) -> None:
    server = served_model_restored
    kb_dir = copy_knowledge_base(tmp_path / "kb")
    settings = make_settings(
        sqlite_url,
        tmp_path,
        RASA_URL=server.url,
        RASA_AUTH_TOKEN=server.auth_token,
        GOVCHAT_NLU_LOCAL_SURE_AT=RASA_ONLY,
        GOVCHAT_KB_DIR=kb_dir,
    )
    async with running_app(settings) as app:
        services: Services = app.state.services
        assert services.training.rasa is not None
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            citizen = WebChatCitizen(client, services)
            supervisor = await officer_headers(client, services, Role.SUPERVISOR)
            before = await citizen.ask(NEW_QUESTION)
            assert before["engine"] == "rasa"
            assert (before["action"], before["faq_id"]) != ("answer", TARGET_ENTRY)

            add_question(kb_dir, TARGET_ENTRY, NEW_QUESTION)
            changed = time.monotonic()
            assert await asyncio.to_thread(services.kb.store.reload)

            async def training() -> dict[str, Any] | None:
                status: dict[str, Any] = (
                    await client.get("/api/admin/kb/training", headers=supervisor)
                ).json()
                return status if status["state"] == "training" else None

            started = await wait_for(training, timeout=60)
            assert (started["engine"], started["pending_questions"]) == ("rasa", True)
            assert started["model"] == rasa_model.name.removesuffix(".tar.gz")
            meanwhile = await citizen.ask(KNOWN_QUESTION)  # the old model answers while Rasa trains
            assert (meanwhile["engine"], meanwhile["faq_id"]) == ("rasa", KNOWN_ENTRY)

            async def ready() -> dict[str, Any] | None:
                status: dict[str, Any] = (
                    await client.get("/api/admin/kb/training", headers=supervisor)
                ).json()
                assert status["state"] != "failed", status["error"]
                return status if status["state"] == "idle" else None

            done = await wait_for(ready, timeout=TRAINING_TIMEOUT, interval=0.5)
            after = await citizen.ask(NEW_QUESTION)
            swapped_s = time.monotonic() - changed
    assert (after["engine"], after["action"], after["faq_id"]) == ("rasa", "answer", TARGET_ENTRY)
    served = await RasaModels(server.url, server.auth_token).served_model()
    assert served == f"{done['model']}.tar.gz" != rasa_model.name
    assert done["pending_questions"] is False and done["error"] is None
    print(f"knowledge-base change -> first answer from the new Rasa model: {swapped_s:.1f} s")


async def test_a_question_approved_in_the_editor_is_answered_through_rasa_once_the_new_model_serves(
    served_model_restored: RasaServer,
    rasa_model: Path,
    sqlite_database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = served_model_restored
    old_model = rasa_model.name.removesuffix(".tar.gz")
    settings = make_settings(
        sqlite_database_url,
        tmp_path,
        RASA_URL=server.url,
        RASA_AUTH_TOKEN=server.auth_token,
        GOVCHAT_NLU_LOCAL_SURE_AT=RASA_ONLY,
    )
    async with running_app(settings) as app:
        services: Services = app.state.services
        rasa = services.training.rasa
        assert rasa is not None
        # The job's load waits for the test: the window in which the old model must keep answering.
        # The approved data is the data the test above adds to the files, so after either test the
        # model is in the cache and this one only loads it.
        may_swap = asyncio.Event()
        load_model = rasa.models.load_model

        async def load_when_allowed(model: Path) -> float:
            await may_swap.wait()
            return await load_model(model)

        monkeypatch.setattr(rasa.models, "load_model", load_when_allowed)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            citizen = WebChatCitizen(client, services)
            department = services.kb.store.current.entries[TARGET_ENTRY].department
            author = await make_editor(client, services, [department])
            reviewer = await make_editor(client, services, [department])
            before = await citizen.ask(NEW_QUESTION)
            assert before["engine"] == "rasa"
            assert (before["action"], before["faq_id"]) != ("answer", TARGET_ENTRY)

            entry = (await client.get(f"{KB}/entries/{TARGET_ENTRY}", headers=author.headers)).json()
            questions = [*entry["questions"], NEW_QUESTION]
            change_id = await propose(client, author, TARGET_ENTRY, department, {"questions": questions})
            approved = await approve(client, reviewer, change_id)
            assert approved["entry"]["questions"] == questions

            async def training_state(wanted: str) -> dict[str, Any] | None:
                status: dict[str, Any] = (
                    await client.get("/api/admin/kb/training", headers=reviewer.headers)
                ).json()
                assert status["state"] != "failed", status["error"]
                return status if status["state"] == wanted else None

            started = await wait_for(lambda: training_state("training"), timeout=60)
            assert (started["engine"], started["model"], started["pending_questions"]) == (
                "rasa",
                old_model,
                True,
            )
            meanwhile = await citizen.ask(KNOWN_QUESTION)  # the old model answers until the swap
            assert (meanwhile["engine"], meanwhile["faq_id"]) == ("rasa", KNOWN_ENTRY)
            assert await rasa.models.served_model() == rasa_model.name

            may_swap.set()
            done = await wait_for(lambda: training_state("idle"), timeout=TRAINING_TIMEOUT, interval=0.5)
            after = await citizen.ask(NEW_QUESTION)
    assert (after["engine"], after["action"], after["faq_id"]) == ("rasa", "answer", TARGET_ENTRY)
    assert done["model"] != old_model and (done["pending_questions"], done["error"]) == (False, None)
    assert await RasaModels(server.url, server.auth_token).served_model() == f"{done['model']}.tar.gz"


@pytest.fixture
def broken_config(tmp_path: Path) -> Path:
    """The production pipeline with a component that does not exist: Rasa's training fails."""
    config = tmp_path / "config.yml"
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    config.write_text(
        text.replace(
            "  - name: FallbackClassifier", "  - name: NoSuchComponent\n  - name: FallbackClassifier"
        )
    )
    return config


async def test_a_failed_training_leaves_the_old_model_serving_and_says_why(
    ensure_serving: RasaServer, rasa_env: RasaEnv, broken_config: Path, tmp_path: Path
) -> None:
    kb_dir = copy_knowledge_base(tmp_path / "kb")
    add_question(kb_dir, TARGET_ENTRY, NEW_QUESTION)
    models = RasaModels(ensure_serving.url, ensure_serving.auth_token)
    served_before = await models.served_model()
    job = RasaRetraining(
        models,
        MemoryBoard(),
        MemoryLock(),
        log_dir=tmp_path / "log",
        build_root=tmp_path / "rasa-data",
        config=broken_config,
        rasa_env=lambda: rasa_env,
    )

    assert await job.retrain(load_knowledge_base(kb_dir))

    status = await job.status()
    assert (status.state, status.engine, status.pending_questions) == ("failed", "rasa", True)
    assert (
        status.error is not None
        and "Rasa training failed" in status.error
        and "NoSuchComponent" in status.error
    )
    assert status.model == (served_before or "").removesuffix(".tar.gz")
    assert await models.served_model() == served_before
    client = RasaHttpNlu(ensure_serving.url, auth_token=ensure_serving.auth_token)
    try:
        still = await client.parse(KNOWN_QUESTION)
    finally:
        await client.aclose()
    assert still.faq_id == KNOWN_ENTRY
    assert not await job.lock.held()


async def test_two_hubs_sharing_the_rasa_server_train_one_at_a_time(
    ensure_serving: RasaServer, rasa_env: RasaEnv, broken_config: Path, tmp_path: Path
) -> None:
    import redis.asyncio as redis_asyncio

    client = redis_asyncio.from_url("redis://127.0.0.1:6379/15", socket_connect_timeout=2)
    key = shared_key(f"{ensure_serving.url}/{uuid.uuid4().hex}")  # this test's own lock and state
    kb_dir = copy_knowledge_base(tmp_path / "kb")
    add_question(kb_dir, TARGET_ENTRY, NEW_QUESTION)
    kb = load_knowledge_base(kb_dir)

    def hub(name: str) -> RasaRetraining:
        return RasaRetraining(
            RasaModels(ensure_serving.url, ensure_serving.auth_token),
            RedisBoard(client, key),
            RedisLock(client, key),
            log_dir=tmp_path / name,
            build_root=tmp_path / "rasa-data",
            config=broken_config,  # fails fast, after the lock has done its work
            rasa_env=lambda: rasa_env,
        )

    first, second = hub("first"), hub("second")
    try:
        trained = await asyncio.gather(first.retrain(kb), second.retrain(kb))
        assert sorted(trained) == [False, True]  # one trained, the other was told to look again later
        assert not await first.lock.held()
        for job in (first, second):  # both read the one state the training left
            status = await job.status()
            assert status.state == "failed" and status.error is not None and "NoSuchComponent" in status.error
    finally:
        await client.delete(f"{key}:lock", f"{key}:status")
        await client.aclose()
