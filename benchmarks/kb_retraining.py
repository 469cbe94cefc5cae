"""From a knowledge-base change to the first answer from the retrained NLU. Prints numbers; asserts nothing.

    .venv/bin/python benchmarks/kb_retraining.py                 # embedded engine
    .venv/bin/python benchmarks/kb_retraining.py --rasa          # Rasa (a server of its own on --rasa-port)
    .venv/bin/python benchmarks/kb_retraining.py --warm-cache    # the other processes' case: the pickle exists

A hub runs in this process on a copy of the knowledge base (SQLite, a fresh var dir). A question
nobody has asked before (a new word each run, so nothing is cached) is added to an entry, the store
reloads, and the clock runs until the hub's NLU answers that question with that entry above the
answer threshold. Meanwhile a known question is parsed every 100 ms: its latency while the model
trains shows the old model serving. ``--warm-cache`` trains once first, starts a second hub on the
same cache, and times that one: what every process but the first pays after an approval.
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
from collections.abc import AsyncIterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from app.services import Services  # noqa: E402
from benchmarks.harness import hub_in_process, hub_settings  # noqa: E402
from nlu.commands import train_current  # noqa: E402
from nlu.rasa_env import ensure  # noqa: E402
from nlu.rasa_runner import RasaServer  # noqa: E402
from tests.integration.nlu_training.kb_edits import (  # noqa: E402
    KNOWN_QUESTION,
    TARGET_ENTRY,
    add_question,
    copy_knowledge_base,
)


@contextlib.asynccontextmanager
async def hub(kb_dir: Path, var_dir: Path, **env: str) -> AsyncIterator[Services]:
    settings = hub_settings(
        var_dir,
        f"sqlite+aiosqlite:///{var_dir / 'govchat.db'}",
        GOVCHAT_ADMIN_PASSWORD=None,
        GOVCHAT_KB_DIR=kb_dir,
        GOVCHAT_WORKERS=1,
        **env,
    )
    async with hub_in_process(settings) as app:
        yield app.state.services


async def measure(services: Services, kb_dir: Path, engine: str) -> dict[str, object]:
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

    add_question(kb_dir, TARGET_ENTRY, question)
    changed = time.monotonic()
    assert await asyncio.to_thread(services.kb_store.reload)
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
                return await measure(services, kb_dir, "embedded")
            first = await measure(services, kb_dir, "embedded")
            kb_second = copy_knowledge_base(root / "kb2")
            (root / "second").mkdir()
            (root / "second" / "cache").symlink_to(root / "first" / "cache")
        # the second hub starts on the original knowledge base, then gets the same change
        question = services.kb_store.current.entries[TARGET_ENTRY].questions[-1]
        async with hub(kb_second, root / "second") as second:
            started = time.monotonic()
            add_question(kb_second, TARGET_ENTRY, question)
            assert await asyncio.to_thread(second.kb_store.reload)
            target = second.training.training_digest(second.kb_store.current)
            while second.training.embedded.model != target:  # noqa: ASYNC110 (another object swaps it)
                await asyncio.sleep(0.02)
            return {**first, "second_process_loads_pickle_s": round(time.monotonic() - started, 2)}


async def rasa(port: int) -> dict[str, object]:
    model = train_current(quiet=True).model
    env = ensure(quiet=True)
    with (
        tempfile.TemporaryDirectory(prefix="kb-retraining-") as tmp,
        RasaServer(env, model, port=port) as server,
    ):
        root = Path(tmp)
        kb_dir = copy_knowledge_base(root / "kb")
        async with hub(
            kb_dir, root / "var", RASA_URL=server.url, RASA_AUTH_TOKEN=server.auth_token
        ) as services:
            result = await measure(services, kb_dir, "rasa")
            status = await services.training.status()
        trained = Path(model).parent / f"{status.model}.tar.gz"
        trained.unlink(missing_ok=True)  # one-off question: do not keep its model in the cache
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rasa", action="store_true")
    parser.add_argument("--rasa-port", type=int, default=18250)
    parser.add_argument("--warm-cache", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(rasa(args.rasa_port) if args.rasa else embedded(args.warm_cache))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
