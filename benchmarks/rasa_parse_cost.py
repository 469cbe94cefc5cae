"""What a Rasa parse costs: one message a request, and in batches (our batch channel). Prints; asserts nothing.

    .venv/bin/python benchmarks/rasa_parse_cost.py                  # the model `govchat nlu train` trains
    .venv/bin/python benchmarks/rasa_parse_cost.py --config CONFIG  # another pipeline (e.g. cascade_below: null)
    .venv/bin/python benchmarks/rasa_parse_cost.py --batches 1,8,32,64 --repeat 3

Texts: the held-out sets (``tests/data/heldout.jsonl`` and ``heldout_en.jsonl``: questions the model
never saw) and the load benchmark's texts (the knowledge base's questions and the small talk it trains
on). For each: the share of messages the e5 encoder embedded (``e5_embedded`` in Rasa's answer: the
cascade's second stage), ``/model/parse`` wall p50/p95 one request at a time, and the Rasa server's CPU
per message (from ``/proc``: on a shared machine wall time includes waiting for a core); then the
server's CPU per message and wall time per request when the same texts go ``--batches`` at a time to
``/webhooks/govchat_batch/parse``. The load average is printed beside every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import aiohttp

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

from rasa_models import RASA_TOKEN, process_cpu_seconds  # noqa: E402

from benchmarks.harness import HELDOUT, HELDOUT_EN  # noqa: E402
from knowledge_base.loader import load_knowledge_base  # noqa: E402
from nlu.commands import train_current  # noqa: E402
from nlu.examples import load_core_examples  # noqa: E402
from nlu.rasa_env import ensure  # noqa: E402
from nlu.rasa_http import BATCH_PATH  # noqa: E402
from nlu.rasa_runner import RasaServer  # noqa: E402
from nlu.training_data import DEFAULT_CONFIG  # noqa: E402

SMALLTALK = {"greet", "thanks", "goodbye"}


def heldout_texts() -> list[str]:
    return [
        json.loads(line)["text"]
        for path in (HELDOUT, HELDOUT_EN)
        for line in path.read_text("utf-8").splitlines()
        if line
    ]


def load_texts() -> list[str]:
    questions = [q for entry in load_knowledge_base().entries.values() for q in entry.questions]
    return questions + [e.text for e in load_core_examples() if e.intent in SMALLTALK]


def _p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def _load() -> str:
    return f"load average {os.getloadavg()[0]:.1f}"


async def one_at_a_time(session: aiohttp.ClientSession, url: str, pid: int, texts: Sequence[str]) -> str:
    for text in texts[:10]:  # warm the connection
        await session.post(f"{url}/model/parse", json={"text": text}, params={"token": RASA_TOKEN})
    times, embedded = [], 0
    cpu_before = process_cpu_seconds(pid)
    for text in texts:
        started = time.perf_counter()
        async with session.post(f"{url}/model/parse", json={"text": text}, params={"token": RASA_TOKEN}) as r:
            body = await r.json()
        times.append((time.perf_counter() - started) * 1000)
        embedded += bool(body.get("e5_embedded"))
    cpu_ms = (process_cpu_seconds(pid) - cpu_before) * 1000 / len(texts)
    return (
        f"{len(texts)} texts, {embedded / len(texts):.1%} embedded; one a request: p50 "
        f"{statistics.median(times):.1f} ms, p95 {_p95(times):.1f} ms, server CPU {cpu_ms:.1f} ms/parse ({_load()})"
    )


async def in_batches(
    session: aiohttp.ClientSession, url: str, pid: int, texts: Sequence[str], size: int, repeat: int
) -> str:
    batches = [list(texts[i : i + size]) for i in range(0, len(texts), size)] * repeat
    times = []
    cpu_before = process_cpu_seconds(pid)
    for batch in batches:
        started = time.perf_counter()
        async with session.post(
            f"{url}{BATCH_PATH}", json={"texts": batch}, params={"token": RASA_TOKEN}
        ) as r:
            r.raise_for_status()
            await r.read()
        times.append((time.perf_counter() - started) * 1000)
    cpu_ms = (process_cpu_seconds(pid) - cpu_before) * 1000 / (len(texts) * repeat)
    return (
        f"batches of {size}: server CPU {cpu_ms:.2f} ms/message, request p50 {statistics.median(times):.1f} ms "
        f"({_load()})"
    )


async def measure(url: str, pid: int, sets: dict[str, list[str]], sizes: list[int], repeat: int) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        for name, texts in sets.items():
            print(f"{name}: {await one_at_a_time(session, url, pid, texts)}", flush=True)
            for size in sizes:
                print(f"{name}: {await in_batches(session, url, pid, texts, size, repeat)}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="the Rasa pipeline")
    parser.add_argument("--batches", default="1,8,32,64", help="batch sizes for the batch channel")
    parser.add_argument("--repeat", type=int, default=2, help="passes over the texts per batch size")
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    model = train_current(config=args.config, quiet=True).model
    sets = {"held-out": heldout_texts(), "load workload": load_texts()}
    sizes = [int(s) for s in args.batches.split(",") if s]
    print(f"model {model.name}; {_load()}", flush=True)
    with RasaServer(ensure(quiet=True), model, port=args.port) as server:
        assert server.process is not None
        asyncio.run(measure(server.url, server.process.pid, sets, sizes, args.repeat))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
