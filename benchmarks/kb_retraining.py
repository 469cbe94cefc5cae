"""From a knowledge-base change to the first answer from the retrained NLU. Prints numbers; asserts nothing.

    .venv/bin/python benchmarks/kb_retraining.py                 # embedded engine
    .venv/bin/python benchmarks/kb_retraining.py --rasa          # Rasa (a server of its own on --rasa-port)
    .venv/bin/python benchmarks/kb_retraining.py --warm-cache    # the other processes' case: the pickle exists
    .venv/bin/python benchmarks/kb_retraining.py --rasa --approval   # the editor's path, from the approval

A hub runs in this process on a copy of the knowledge base (SQLite, a fresh var dir). A question
nobody has asked before (a new word each run, so nothing is cached) is added to an entry, the store
reloads, and the clock runs until the hub's NLU answers that question with that entry above the
answer threshold. Meanwhile a known question is parsed every 100 ms: its latency while the model
trains shows the old model serving. ``--approval``: instead of the files changing, a supervisor
proposes the question through ``POST /api/admin/kb/changes`` (not timed) and the clock starts when a
second supervisor's ``POST .../approve`` is sent; the result adds how long that request took and the
job's own span (``started_at`` to ``finished_at`` of ``GET /api/admin/kb/training``).
``--warm-cache`` trains once first, starts a second hub on the same cache, and times that one: what
every process but the first pays after an approval.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path

import httpx
from fastapi import FastAPI

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from app.services import Services  # noqa: E402
from benchmarks.harness import hub_in_process, hub_settings  # noqa: E402
from nlu.commands import train_current  # noqa: E402
from nlu.rasa_env import ensure  # noqa: E402
from nlu.rasa_runner import RasaServer  # noqa: E402
from tests.integration.kb.conftest import KB, Editor, approve, make_editor, propose  # noqa: E402
from tests.integration.nlu_training.kb_edits import (  # noqa: E402
    KNOWN_QUESTION,
    TARGET_ENTRY,
    add_question,
    copy_knowledge_base,
)

# Puts the question in service; returns when the clock started (time.monotonic) and what to report with it.
Publish = Callable[[str], Awaitable[tuple[float, dict[str, object]]]]


@contextlib.asynccontextmanager
async def hub_app(kb_dir: Path, var_dir: Path, **env: str) -> AsyncIterator[FastAPI]:
    settings = hub_settings(
        var_dir,
        f"sqlite+aiosqlite:///{var_dir / 'govchat.db'}",
        GOVCHAT_ADMIN_PASSWORD=None,
        GOVCHAT_KB_DIR=kb_dir,
        GOVCHAT_WORKERS=1,
        **env,
    )
    async with hub_in_process(settings) as app:
        yield app


@contextlib.asynccontextmanager
async def hub(kb_dir: Path, var_dir: Path, **env: str) -> AsyncIterator[Services]:
    async with hub_app(kb_dir, var_dir, **env) as app:
        yield app.state.services


def file_change(services: Services, kb_dir: Path) -> Publish:
    async def publish(question: str) -> tuple[float, dict[str, object]]:
        add_question(kb_dir, TARGET_ENTRY, question)
        changed = time.monotonic()
        assert await asyncio.to_thread(services.kb.store.reload)
        return changed, {}

    return publish


class Approval:
    """Two supervisors of the entry's department over the hub's HTTP API: one proposes, the other approves."""

    def __init__(self, client: httpx.AsyncClient, department: str, author: Editor, reviewer: Editor) -> None:
        self.client = client
        self.department = department
        self.author = author
        self.reviewer = reviewer

    @classmethod
    @contextlib.asynccontextmanager
    async def of(cls, app: FastAPI) -> AsyncIterator[Approval]:
        services: Services = app.state.services
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            department = services.kb.store.current.entries[TARGET_ENTRY].department
            author = await make_editor(client, services, [department])
            reviewer = await make_editor(client, services, [department])
            yield cls(client, department, author, reviewer)

    async def publish(self, question: str) -> tuple[float, dict[str, object]]:
        entry = (await self.client.get(f"{KB}/entries/{TARGET_ENTRY}", headers=self.author.headers)).json()
        fields = {"questions": [*entry["questions"], question]}
        change_id = await propose(self.client, self.author, TARGET_ENTRY, self.department, fields)
        approved = time.monotonic()
        await approve(self.client, self.reviewer, change_id)
        return approved, {"approve_request_s": round(time.monotonic() - approved, 2)}

    async def training_span(self) -> dict[str, object]:
        """The job's span as the editor sees it; what the status said when it is not an idle after a job."""
        deadline = time.monotonic() + 30  # the answer can come a moment before the job records it
        while True:
            status = (await self.client.get(f"{KB}/training", headers=self.reviewer.headers)).json()
            if status["state"] != "training" or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        if status["state"] != "idle" or not (status["started_at"] and status["finished_at"]):
            return {"training_status": status}
        span = datetime.fromisoformat(status["finished_at"]) - datetime.fromisoformat(status["started_at"])
        return {"job_started_to_idle_s": round(span.total_seconds(), 2)}


async def measure(services: Services, publish: Publish, engine: str) -> dict[str, object]:
    question = f"ขอแบบฟอร์ม {uuid.uuid4().hex[:6]} ได้ที่ไหน"  # never seen: trains for real
    threshold = services.settings.answer_threshold
    latencies: list[float] = []
    errors = 0
    done = asyncio.Event()

    async def known_question_meanwhile() -> None:
        nonlocal errors
        while not done.is_set():
            started = time.perf_counter()
            try:
                await services.nlu.parse(KNOWN_QUESTION)
            except Exception:
                errors += 1
            latencies.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.1)

    changed, extras = await publish(question)
    background = asyncio.create_task(known_question_meanwhile())
    while True:
        prediction = await services.nlu.parse(question)
        if (prediction.engine, prediction.faq_id) == (
            engine,
            TARGET_ENTRY,
        ) and prediction.faq_confidence >= threshold:
            break
        await asyncio.sleep(0.05)
    seconds = time.monotonic() - changed
    done.set()
    await background
    return {
        "engine": engine,
        "change_to_first_new_answer_s": round(seconds, 2),
        **extras,
        "known_question_parses_meanwhile": len(latencies),
        "their_p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "their_max_ms": round(max(latencies), 1) if latencies else None,
        "errors_meanwhile": errors,
        "load": os.getloadavg(),
    }


async def embedded(warm_cache: bool) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="kb-retraining-") as tmp:
        root = Path(tmp)
        kb_dir = copy_knowledge_base(root / "kb")
        async with hub(kb_dir, root / "first") as services:
            if not warm_cache:
                return await measure(services, file_change(services, kb_dir), "embedded")
            first = await measure(services, file_change(services, kb_dir), "embedded")
            kb_second = copy_knowledge_base(root / "kb2")
            (root / "second").mkdir()
            (root / "second" / "cache").symlink_to(root / "first" / "cache")
        # the second hub starts on the original knowledge base, then gets the same change
        question = services.kb.store.current.entries[TARGET_ENTRY].questions[-1]
        async with hub(kb_second, root / "second") as second:
            started = time.monotonic()
            add_question(kb_second, TARGET_ENTRY, question)
            assert await asyncio.to_thread(second.kb.store.reload)
            target = second.training.training_digest(second.kb.store.current)
            while second.training.embedded.model != target:  # noqa: ASYNC110 (another object swaps it)
                await asyncio.sleep(0.02)
            return {**first, "second_process_loads_pickle_s": round(time.monotonic() - started, 2)}


async def rasa(port: int, through_approval: bool) -> dict[str, object]:
    model = train_current(quiet=True).model
    env = ensure(quiet=True)
    with (
        tempfile.TemporaryDirectory(prefix="kb-retraining-") as tmp,
        RasaServer(env, model, port=port) as server,
    ):
        root = Path(tmp)
        kb_dir = copy_knowledge_base(root / "kb")
        async with hub_app(
            kb_dir, root / "var", RASA_URL=server.url, RASA_AUTH_TOKEN=server.auth_token
        ) as app:
            services: Services = app.state.services
            if through_approval:
                async with Approval.of(app) as editors:
                    result = await measure(services, editors.publish, "rasa")
                    result.update(await editors.training_span())
            else:
                result = await measure(services, file_change(services, kb_dir), "rasa")
            status = await services.training.status()
        trained = Path(model).parent / f"{status.model}.tar.gz"
        trained.unlink(missing_ok=True)  # one-off question: do not keep its model in the cache
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rasa", action="store_true")
    parser.add_argument("--rasa-port", type=int, default=18250)
    parser.add_argument("--warm-cache", action="store_true")
    parser.add_argument(
        "--approval", action="store_true", help="with --rasa: the question approved through the editor's API"
    )
    args = parser.parse_args()
    if args.approval and not args.rasa:
        parser.error("--approval measures the Rasa swap: use it with --rasa")
    result = asyncio.run(rasa(args.rasa_port, args.approval) if args.rasa else embedded(args.warm_cache))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
