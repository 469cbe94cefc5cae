"""Thai intent accuracy on public corpora: our Rasa pipeline vs stock Rasa vs the embedded engine.

Trains on each corpus's train split and reports test accuracy (top-1 intent of the classifier;
Rasa's ``nlu_fallback`` is skipped so every engine is scored on its best real intent):

* MASSIVE 1.1 th-TH (60 intents) and truevoice-intent (7 destinations, spaces -> ``_``;
  also scored on the de-duplicated test texts, as its README asks), from ``shared/data``;
* ``thai-rasa``: ``nlu/rasa_project/config.yml``; ``stock-rasa``: ``config_stock.yml`` (Rasa's
  default pipeline, WhitespaceTokenizer, ``language: en``); ``embedded``: ``nlu.embedded``;
* the knowledge base: training time of the full model, ``/model/parse`` latency (p50/p95,
  one request at a time) and FAQ top-1 on ``tests/data/heldout.jsonl``.

Rasa models are cached by fingerprint (``~/.cache/govchat/rasa-models``); ``--retrain`` forces
training so the times are real. Not a test: run it by hand, it takes minutes per corpus.

    .venv/bin/python benchmarks/nlu_public_corpora.py
    .venv/bin/python benchmarks/nlu_public_corpora.py --engines thai-rasa,embedded --corpora massive
    .venv/bin/python benchmarks/nlu_public_corpora.py --stock-epochs 100   # the real default (slow)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from knowledge_base.loader import load_knowledge_base  # noqa: E402
from nlu.client import FALLBACK_INTENT, FAQ_INTENT, Prediction  # noqa: E402
from nlu.commands import build_govchat_project  # noqa: E402
from nlu.embedded import EmbeddedNlu, TextClassifier  # noqa: E402
from nlu.evaluate import load_heldout, score_heldout  # noqa: E402
from nlu.rasa_env import RasaEnv, ensure  # noqa: E402
from nlu.rasa_http import RasaHttpNlu  # noqa: E402
from nlu.rasa_runner import RasaServer, train_model  # noqa: E402
from nlu.training_data import DEFAULT_CONFIG, STOCK_CONFIG, RasaProject, write_project  # noqa: E402

DATA_DIR = REPO_ROOT.parent / "shared" / "data"
BUILD_ROOT = REPO_ROOT / "var" / "rasa" / "benchmarks"
HELDOUT = REPO_ROOT / "tests" / "data" / "heldout.jsonl"
ENGINES = ("thai-rasa", "stock-rasa", "embedded")
CORPORA = {"massive": ("massive_th", "intent"), "truevoice": ("truevoice_intent", "destination")}
PARSE_CONCURRENCY = 4
LATENCY_SAMPLES = 200


@dataclass(frozen=True)
class Corpus:
    name: str
    train_texts: list[str]
    train_labels: list[str]
    test_texts: list[str]
    test_labels: list[str]


@dataclass
class Row:
    corpus: str
    engine: str
    accuracy: float | None = None
    dedup_accuracy: float | None = None
    train_s: float | None = None
    note: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def load_corpus(name: str, data_dir: Path) -> Corpus:
    folder, key = CORPORA[name]

    def read(split: str) -> tuple[list[str], list[str]]:
        rows = [json.loads(line) for line in (data_dir / folder / f"{split}.jsonl").open(encoding="utf-8")]
        return [r["text"] for r in rows], [str(r[key]).replace(" ", "_") for r in rows]

    train_texts, train_labels = read("train")
    test_texts, test_labels = read("test")
    return Corpus(name, train_texts, train_labels, test_texts, test_labels)


def accuracy(predicted: Sequence[str], truth: Sequence[str], texts: Sequence[str]) -> tuple[float, float]:
    """Raw accuracy and accuracy over distinct (text, label) test pairs."""
    raw = sum(p == t for p, t in zip(predicted, truth, strict=True)) / len(truth)
    distinct = {(x, t): p == t for x, p, t in zip(texts, predicted, truth, strict=True)}
    return raw, sum(distinct.values()) / len(distinct)


def best_real_intent(prediction: Prediction) -> str:
    if prediction.intent != FALLBACK_INTENT:
        return prediction.intent
    return next((r.name for r in prediction.intent_ranking if r.name != FALLBACK_INTENT), FALLBACK_INTENT)


async def parse_all(url: str, texts: Sequence[str]) -> list[Prediction]:
    client = RasaHttpNlu(url, timeout=httpx.Timeout(60.0))
    gate = asyncio.Semaphore(PARSE_CONCURRENCY)

    async def one(text: str) -> Prediction:
        async with gate:
            return await client.parse(text)

    try:
        return list(await asyncio.gather(*(one(t) for t in texts)))
    finally:
        await client.aclose()


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def parse_latencies(url: str, texts: Sequence[str], server_pid: int) -> tuple[list[float], float]:
    """Wall-clock ms of sequential ``/model/parse`` calls over one pooled client, and the Rasa
    server's CPU ms per call: on a busy machine wall time measures the queue for a core, CPU
    time what a parse costs."""
    client = RasaHttpNlu(url)
    try:
        for text in texts[:10]:  # warm the connection pool
            await client.parse(text)
        times = []
        cpu_before = process_cpu_seconds(server_pid)
        for text in texts:
            started = time.perf_counter()
            await client.parse(text)
            times.append((time.perf_counter() - started) * 1000)
        cpu_ms = (process_cpu_seconds(server_pid) - cpu_before) * 1000 / len(texts)
        return times, cpu_ms
    finally:
        await client.aclose()


def stock_config(epochs: int, folder: Path) -> Path:
    config = yaml.safe_load(STOCK_CONFIG.read_text(encoding="utf-8"))
    for component in config["pipeline"]:
        if "epochs" in component:
            component["epochs"] = epochs
    path = folder / f"config_stock_{epochs}.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def train_timed(project: RasaProject, env: RasaEnv, retrain: bool) -> tuple[Path, float | None, float | None]:
    """Model, wall seconds and CPU seconds of training (None when a cached model was used).

    CPU seconds (of the Rasa process) say what training costs when the machine is shared."""
    started, cpu_before = time.monotonic(), _children_cpu_seconds()
    model, trained = train_model(project, env, force=retrain)
    if not trained:
        return model, None, None
    return model, time.monotonic() - started, _children_cpu_seconds() - cpu_before


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_rasa(corpus: Corpus, env: RasaEnv, config: Path, retrain: bool, engine: str) -> Row:
    groups: dict[str, list[str]] = {}
    for text, label in zip(corpus.train_texts, corpus.train_labels, strict=True):
        groups.setdefault(label, []).append(text)
    project = write_project(groups, {}, BUILD_ROOT / corpus.name, config)
    print(f"[{corpus.name}/{engine}] training ({project.root})", file=sys.stderr, flush=True)
    model, seconds, cpu = train_timed(project, env, retrain)
    with RasaServer(env, model) as server:
        predictions = asyncio.run(parse_all(server.url, corpus.test_texts))
    predicted = [best_real_intent(p) for p in predictions]
    raw, dedup = accuracy(predicted, corpus.test_labels, corpus.test_texts)
    return Row(corpus.name, engine, raw, dedup, seconds, _train_note(cpu))


def _train_note(cpu: float | None) -> str:
    return "cached model" if cpu is None else f"training CPU {cpu:.0f} s"


def run_embedded(corpus: Corpus) -> Row:
    started = time.monotonic()
    classifier = TextClassifier.fit(corpus.train_texts, corpus.train_labels)
    seconds = time.monotonic() - started
    probabilities = classifier.predict_proba(corpus.test_texts)
    predicted = [classifier.classes[i] for i in probabilities.argmax(axis=1)]
    raw, dedup = accuracy(predicted, corpus.test_labels, corpus.test_texts)
    return Row(corpus.name, "embedded", raw, dedup, seconds)


def decide_top(prediction: Prediction) -> tuple[str, str | None]:
    """No policy thresholds: the model's own best guess (held-out top-1 is what we report)."""
    return ("answer", prediction.faq_id) if prediction.intent == FAQ_INTENT else (prediction.intent, None)


def run_knowledge_base(env: RasaEnv | None, engines: Sequence[str], retrain: bool) -> list[Row]:
    rows = []
    cases = load_heldout(HELDOUT) if HELDOUT.exists() else []
    intents = [c.intent for c in cases]

    def heldout_row(engine: str, predictions: list[Prediction], train_s: float | None, note: str) -> Row:
        report = score_heldout(cases, predictions, decide_top)
        predicted = [best_real_intent(p) for p in predictions]
        intent_acc = sum(p == t for p, t in zip(predicted, intents, strict=True)) / len(cases)
        row = Row("knowledge base", engine, intent_acc, None, train_s, note)
        row.extra["faq top-1 (held-out)"] = f"{report.faq_top1_accuracy:.3f}"
        return row

    if "thai-rasa" in engines and env is not None:
        project = build_govchat_project(build_root=BUILD_ROOT / "knowledge_base")
        model, seconds, cpu = train_timed(project, env, retrain)
        with RasaServer(env, model) as server:
            texts = [c.text for c in cases] or ["จองชื่อบริษัทยังไงคะ"]
            sample = (texts * (LATENCY_SAMPLES // len(texts) + 1))[:LATENCY_SAMPLES]
            assert server.process is not None
            latencies, cpu_ms = asyncio.run(parse_latencies(server.url, sample, server.process.pid))
            predictions = asyncio.run(parse_all(server.url, [c.text for c in cases]))
        note = (
            f"{_train_note(cpu)}; parse p50 {statistics.median(latencies):.1f} ms, "
            f"p95 {_p95(latencies):.1f} ms, server CPU {cpu_ms:.1f} ms/parse, "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        if cases:
            rows.append(heldout_row("thai-rasa", predictions, seconds, note))
        else:
            rows.append(
                Row("knowledge base", "thai-rasa", None, None, seconds, note + "; no held-out set yet")
            )
    if "embedded" in engines and cases:
        started = time.monotonic()
        engine = EmbeddedNlu.from_knowledge_base(load_knowledge_base())
        seconds = time.monotonic() - started
        predictions = [engine.parse_sync(c.text) for c in cases]
        rows.append(heldout_row("embedded", predictions, seconds, ""))
    return rows


def _p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def format_table(rows: Sequence[Row]) -> str:
    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    header = ("corpus", "engine", "accuracy", "dedup acc.", "train s", "notes")
    lines = [header]
    for row in rows:
        notes = "; ".join([*(f"{k} {v}" for k, v in row.extra.items()), *([row.note] if row.note else [])])
        train = "-" if row.train_s is None else f"{row.train_s:.0f}"
        lines.append((row.corpus, row.engine, pct(row.accuracy), pct(row.dedup_accuracy), train, notes))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    rendered = []
    for n, line in enumerate(lines):
        cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=False)]
        rendered.append(" | ".join([*cells, line[-1]]))
        if n == 0:
            rendered.append("-+-".join("-" * w for w in widths) + "-+-" + "-" * 20)
    return "\n".join(rendered)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpora", default="massive,truevoice")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--stock-epochs", type=int, default=100, help="DIET/ResponseSelector epochs of stock")
    parser.add_argument("--retrain", action="store_true", help="train even when a cached model exists")
    parser.add_argument("--no-knowledge-base", action="store_true")
    args = parser.parse_args(argv)
    engines = [e for e in args.engines.split(",") if e]
    unknown = set(engines) - set(ENGINES)
    if unknown:
        parser.error(f"unknown engines {sorted(unknown)}; choose from {ENGINES}")
    env = ensure() if {"thai-rasa", "stock-rasa"} & set(engines) else None
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as scratch:
        runners: dict[str, Callable[[Corpus], Row]] = {"embedded": run_embedded}
        if env is not None:
            rasa = env
            stock = stock_config(args.stock_epochs, Path(scratch))
            runners["thai-rasa"] = lambda c: run_rasa(c, rasa, DEFAULT_CONFIG, args.retrain, "thai-rasa")
            runners["stock-rasa"] = lambda c: run_rasa(c, rasa, stock, args.retrain, "stock-rasa")
        for name in [c for c in args.corpora.split(",") if c]:
            corpus = load_corpus(name, args.data_dir)
            for engine in engines:
                row = runners[engine](corpus)
                if engine == "stock-rasa":
                    row.note = "; ".join(filter(None, [f"{args.stock_epochs} epochs", row.note]))
                rows.append(row)
                print(format_table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
        if not args.no_knowledge_base:
            rows.extend(run_knowledge_base(env, engines, args.retrain))
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
