"""The embedded engine with and without the e5 sentence encoder: accuracy and cost. Prints; asserts nothing.

    .venv/bin/python benchmarks/nlu_dense.py                   # knowledge base: both held-out sets
    .venv/bin/python benchmarks/nlu_dense.py --cascade 0.5,0.7,0.8,0.9,0.95

For the knowledge base, the engine is trained once sparse-only and once with the dense model, and
scored through the hub's decision policy (default thresholds) on ``tests/data/heldout.jsonl`` (Thai)
and ``tests/data/heldout_en.jsonl`` (English and code-switched), as: sparse only; dense always; and the
cascade (dense only where the sparse model's top probability is below a threshold) at each threshold.
Costs: encoder load and self-check, training (embeddings cold and cached), resident memory, parse
p50/p95 one message at a time, and per message in batches of 16 (a worker's batch).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.harness import HELDOUT, HELDOUT_EN, policy_decider  # noqa: E402
from knowledge_base.language import is_english  # noqa: E402
from knowledge_base.loader import load_knowledge_base  # noqa: E402
from nlu.embedded import EmbeddedNlu, knowledge_base_documents  # noqa: E402
from nlu.encoder import cached_encode, load_encoder  # noqa: E402
from nlu.evaluate import Decide, HeldoutCase, load_heldout, score_heldout  # noqa: E402
from nlu.examples import load_training_examples  # noqa: E402

BATCH = 16


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def latency_ms(parse: Callable[[str], object], texts: Sequence[str]) -> tuple[float, float]:
    samples = []
    for text in texts:
        started = time.perf_counter()
        parse(text)
        samples.append((time.perf_counter() - started) * 1000.0)
    return float(np.percentile(samples, 50)), float(np.percentile(samples, 95))


def batch_ms(engine: EmbeddedNlu, texts: Sequence[str]) -> float:
    started = time.perf_counter()
    for i in range(0, len(texts), BATCH):
        engine.parse_many(texts[i : i + BATCH])
    return (time.perf_counter() - started) * 1000.0 / len(texts)


def row(
    name: str,
    engine: EmbeddedNlu,
    sets: dict[str, list[HeldoutCase]],
    decide: Decide,
) -> str:
    cells = [name]
    embedded = total = 0
    all_texts: list[str] = []
    for cases in sets.values():
        texts = [c.text for c in cases]
        all_texts += texts
        predictions = [engine.parse_sync(t) for t in texts]
        report = score_heldout(cases, predictions, decide)
        if engine.dense is not None:
            sparse = engine.classifier.predict_proba(texts)
            embedded += sum(engine.needs_encoder(p) for p in sparse)
        total += len(texts)
        cells += [
            _fmt(report.faq_top1_accuracy),
            _fmt(report.wrong_answer_rate),
            _fmt(report.off_topic_not_answered),
            _fmt(report.human_requests_escalated),
        ]
    p50, p95 = latency_ms(engine.parse_sync, all_texts)
    cells += [f"{embedded / total:.2f}", f"{p50:.1f} / {p95:.1f}", f"{batch_ms(engine, all_texts):.1f}"]
    return " | ".join(cells)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cascade", default="0.5,0.7,0.8,0.9,0.95", help="thresholds of the cascade")
    parser.add_argument("--encoder", default=None, help="an nlu.encoder spec (default $GOVCHAT_ENCODER)")
    args = parser.parse_args(argv)

    rss_before = rss_mb()
    started = time.perf_counter()
    encoder = load_encoder(args.encoder)
    load_s = time.perf_counter() - started
    if encoder is None:
        parser.error("the encoder is off: nothing to compare")
    print(
        f"encoder {encoder.name}: load + self-check {load_s * 1000:.0f} ms, max RSS +{rss_mb() - rss_before:.0f} MB"
    )

    kb = load_knowledge_base()
    examples, documents = load_training_examples(kb), knowledge_base_documents(kb)
    started = time.perf_counter()
    sparse = EmbeddedNlu.train(examples, documents=documents)
    print(f"training sparse only: {time.perf_counter() - started:.1f} s")
    texts = [e.text for e in examples] + [d.text for d in documents]
    started = time.perf_counter()
    cached_encode(encoder, texts)  # into the cache the engine reads (cold on the first run)
    print(
        f"embedding the {len(set(texts))} training texts via the cache: {time.perf_counter() - started:.1f} s"
    )
    started = time.perf_counter()
    dense = EmbeddedNlu.train(examples, documents=documents, encoder=encoder, cascade_below=None)
    print(f"training sparse + dense (embeddings cached): {time.perf_counter() - started:.1f} s")
    print(f"max RSS after training: {rss_mb():.0f} MB")

    sets = {"thai": load_heldout(HELDOUT), "english": load_heldout(HELDOUT_EN)}
    english = [c for c in sets["english"] if c.intent == "faq"]
    detected = sum(is_english(c.text) for c in english) / len(english)
    print(f"English held-out FAQ questions detected as English (answered in English): {detected:.2f}")
    decide = policy_decider()
    header = ["engine"]
    for name in sets:
        header += [f"{name} top-1", f"{name} wrong", f"{name} off-topic out", f"{name} escalated"]
    header += ["share embedded", "parse p50 / p95 ms", f"ms/msg in batches of {BATCH}"]
    print(" | ".join(header))
    print(row("sparse", sparse, sets, decide))
    print(row("dense always", dense, sets, decide))
    for threshold in [float(t) for t in args.cascade.split(",") if t]:
        dense.cascade_below = threshold
        print(row(f"cascade < {threshold}", dense, sets, decide))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
