"""Accuracy, training time and latency of the embedded NLU engine. Prints numbers; asserts nothing.

    .venv/bin/python benchmarks/nlu_embedded.py                  # everything
    .venv/bin/python benchmarks/nlu_embedded.py --only kb        # knowledge base CV + held-out set
    .venv/bin/python benchmarks/nlu_embedded.py --only massive truevoice

Public sets (``../shared/data``, see its README): MASSIVE th-TH (train -> test, ``intent``) and
truevoice-intent (train -> test, ``destination``; reported raw and over distinct test texts).
Knowledge base: 5-fold cross-validation, then training on everything and scoring
``tests/data/heldout.jsonl`` through the hub's decision policy, with a threshold sweep.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.harness import HELDOUT  # noqa: E402
from knowledge_base.loader import KnowledgeBase, load_knowledge_base  # noqa: E402
from nlu.client import Prediction  # noqa: E402
from nlu.embedded import EmbeddedNlu, embedded_trainer, knowledge_base_documents  # noqa: E402
from nlu.evaluate import (  # noqa: E402
    Decide,
    HeldoutCase,
    cross_validate,
    load_heldout,
    score_heldout,
)
from nlu.text_classifier import EngineConfig, TextClassifier  # noqa: E402

SHARED_DATA = Path(os.environ.get("GOVCHAT_SHARED_DIR", REPO.parent / "shared")) / "data"
LATENCY_SAMPLE = 1000


@dataclass(frozen=True)
class PublicSet:
    name: str
    folder: str
    label: str


PUBLIC_SETS = (
    PublicSet("massive", "massive_th", "intent"),
    PublicSet("truevoice", "truevoice_intent", "destination"),
)


def _read(path: Path, label: str) -> tuple[list[str], list[str]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["text"] for r in rows], [r[label] for r in rows]


def _percentiles(samples_ms: Sequence[float]) -> str:
    return f"p50 {np.percentile(samples_ms, 50):.2f} ms, p99 {np.percentile(samples_ms, 99):.2f} ms"


def _parse_latency(parse: Callable[[str], object], texts: Sequence[str]) -> list[float]:
    samples = []
    for text in texts:
        started = time.perf_counter()
        parse(text)
        samples.append((time.perf_counter() - started) * 1000.0)
    return samples


# The engine's defaults were tuned on the knowledge base; word bigrams and a smaller C do a little
# better on these larger public sets, so both are reported.
PUBLIC_CONFIGS = (
    ("default config", EngineConfig()),
    ("word 1-2-grams, C=1", EngineConfig(word_ngrams=(1, 2), svm_c=1.0)),
)


def run_public(dataset: PublicSet, label: str, config: EngineConfig) -> None:
    folder = SHARED_DATA / dataset.folder
    if not folder.is_dir():
        print(f"{dataset.name}: {folder} missing, skipped")
        return
    train_x, train_y = _read(folder / "train.jsonl", dataset.label)
    test_x, test_y = _read(folder / "test.jsonl", dataset.label)
    started = time.perf_counter()
    classifier = TextClassifier.fit(train_x, train_y, config)
    training = time.perf_counter() - started
    probs = classifier.predict_proba(test_x)
    predicted = np.asarray(classifier.classes)[probs.argmax(axis=1)]
    correct = predicted == np.asarray(test_y)
    first = {text: i for i, text in reversed(list(enumerate(test_x)))}
    distinct = np.asarray(sorted(first.values()))
    confidence = probs.max(axis=1)
    latency = _parse_latency(classifier.predict_proba_one, test_x[:LATENCY_SAMPLE])
    print(
        f"{dataset.name} [{label}]: train {len(train_x)}, test {len(test_x)} "
        f"({len(distinct)} distinct texts), {len(classifier.classes)} labels"
    )
    print(f"  test accuracy {correct.mean():.4f} (distinct texts {correct[distinct].mean():.4f})")
    print(
        f"  mean confidence {confidence.mean():.4f} (calibrated: close to accuracy), "
        f"temperature {classifier.temperature:.3f}"
    )
    print(f"  training {training:.1f} s (tokenising, calibration folds and final fit)")
    print(f"  parse {_percentiles(latency)} over {len(latency)} test texts")


def run_knowledge_base(folds: int, answer: float, clarify: float, intent: float) -> None:
    from nlu.examples import load_training_examples

    kb = load_knowledge_base()
    examples = load_training_examples(kb)
    documents = knowledge_base_documents(kb)
    print(f"knowledge base: {len(kb.entries)} entries, {len(examples)} training examples")
    started = time.perf_counter()
    report = cross_validate(examples, folds=folds, trainer=embedded_trainer(documents))
    print(f"  cross-validation took {time.perf_counter() - started:.1f} s")
    print(report.format())

    engine = EmbeddedNlu.from_knowledge_base(kb)
    print(f"\ntraining on the whole knowledge base: {engine.training_seconds:.2f} s")
    if not HELDOUT.exists():
        print(f"{HELDOUT} missing: held-out evaluation skipped")
        return
    cases = load_heldout(HELDOUT)
    predictions = [engine.parse_sync(case.text) for case in cases]
    latency = _parse_latency(engine.parse_sync, [f"{case.text} " for case in cases] * 3)
    print(f"parse {_percentiles(latency)} over {len(latency)} held-out parses")

    decide_for = _policy_factory(kb)
    if decide_for is None:
        return
    print(f"\nheld-out set, policy thresholds answer {answer}, clarify {clarify}, intent {intent}")
    print(score_heldout(cases, predictions, decide_for(answer, clarify, intent)).format())
    _print_sweep(cases, predictions, decide_for, intent)


def _policy_factory(kb: KnowledgeBase) -> Callable[[float, float, float], Decide] | None:
    """The hub's own decision policy (``app.conversations.policy``), with given thresholds."""
    try:
        from app.conversations.policy import DecisionPolicy, Thresholds, TurnContext
        from knowledge_base.conversation import load_routing_rules
    except ImportError as error:
        print(f"decision policy unavailable ({error}): held-out policy metrics skipped")
        return None
    routing = load_routing_rules()

    def decide_for(answer: float, clarify: float, intent: float) -> Decide:
        policy = DecisionPolicy(Thresholds(answer, clarify, intent), routing, lambda: kb)

        def decide(prediction: Prediction) -> tuple[str, str | None]:
            # The rules DecisionPolicy.decide_message applies before asking the NLU.
            if policy.wants_human(prediction.text):
                return "escalate", None
            titled = policy.faq_by_title(prediction.text)
            if titled is not None:
                return "answer", titled
            decision = policy.decide(prediction, TurnContext())
            return decision.action.value, decision.faq_id

        return decide

    return decide_for


def _print_sweep(
    cases: Sequence[HeldoutCase],
    predictions: Sequence[Prediction],
    decide_for: Callable[[float, float, float], Decide],
    intent: float,
) -> None:
    print("\nthreshold sweep (held-out): answer / clarify thresholds")
    print("answer clarify  answered-right  wrong-answer  answer-precision  off-topic-kept  clarify-hit")
    for answer in (0.3, 0.4, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9):
        for clarify in (0.1, 0.2, 0.3):
            if clarify >= answer:
                continue
            report = score_heldout(cases, predictions, decide_for(answer, clarify, intent))
            print(
                f"{answer:6.2f} {clarify:7.2f}  {_pct(report.answer_accuracy):>14}  "
                f"{_pct(report.wrong_answer_rate):>12}  {_pct(report.answer_precision):>16}  "
                f"{_pct(report.off_topic_not_answered):>14}  {_pct(report.clarify_hit_rate):>11}"
            )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", nargs="+", choices=["massive", "truevoice", "kb"])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--answer", type=float, default=0.55)
    parser.add_argument("--clarify", type=float, default=0.25)
    parser.add_argument("--intent", type=float, default=0.5)
    args = parser.parse_args(argv)
    wanted = set(args.only or ["massive", "truevoice", "kb"])
    for dataset in PUBLIC_SETS:
        for label, config in PUBLIC_CONFIGS if dataset.name in wanted else ():
            run_public(dataset, label, config)
            print()
    if "kb" in wanted:
        run_knowledge_base(args.folds, args.answer, args.clarify, args.intent)


if __name__ == "__main__":
    main()
