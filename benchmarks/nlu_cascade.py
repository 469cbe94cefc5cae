"""The hub's NLU cascade: how often the embedded engine is sure enough to answer without Rasa, and
what that changes on the held-out sets.

With ``RASA_URL`` set, the hub asks the embedded engine's sparse model first (about a millisecond,
in process); where its top label's probability reaches ``GOVCHAT_NLU_LOCAL_SURE_AT`` that answer
stands, and only the rest goes to Rasa (``nlu.cascade``). This script trains the embedded engine,
serves the Rasa model ``govchat nlu train`` builds (cached by fingerprint), parses the Thai and
English held-out sets and the load benchmark's texts with both, and prints for each threshold:
the share Rasa still parses, and the held-out figures through the hub's decision policy.

    .venv/bin/python benchmarks/nlu_cascade.py
    .venv/bin/python benchmarks/nlu_cascade.py --thresholds 0.9,0.95,0.97
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from rasa_models import parse_all  # noqa: E402

from benchmarks.harness import HELDOUT, HELDOUT_EN, policy_decider  # noqa: E402
from knowledge_base.loader import load_knowledge_base  # noqa: E402
from nlu.cascade import DEFAULT_LOCAL_SURE_AT  # noqa: E402
from nlu.client import Prediction  # noqa: E402
from nlu.commands import train_current  # noqa: E402
from nlu.embedded import EmbeddedNlu  # noqa: E402
from nlu.evaluate import HeldoutCase, load_heldout, score_heldout  # noqa: E402
from nlu.rasa_env import ensure  # noqa: E402
from nlu.rasa_runner import RasaServer  # noqa: E402


def cascade(local: Sequence[Prediction | None], rasa: Sequence[Prediction]) -> tuple[list[Prediction], float]:
    """The predictions the hub would use, and the share that went to Rasa."""
    chosen = [mine if mine is not None else theirs for mine, theirs in zip(local, rasa, strict=True)]
    return chosen, sum(mine is None for mine in local) / max(len(local), 1)


def figures(cases: Sequence[HeldoutCase], predictions: Sequence[Prediction]) -> str:
    report = score_heldout(cases, predictions, policy_decider())

    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    return (
        f"FAQ top-1 {fmt(report.faq_top1_accuracy)}, wrong {fmt(report.wrong_answer_rate)}, "
        f"off-topic kept out {fmt(report.off_topic_not_answered)}, "
        f"person escalated {fmt(report.human_requests_escalated)}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--thresholds", default=f"0.8,0.9,0.95,{DEFAULT_LOCAL_SURE_AT},0.99,1.01")
    args = parser.parse_args(argv)
    thresholds = [float(t) for t in args.thresholds.split(",")]

    kb = load_knowledge_base()
    thai, english = load_heldout(HELDOUT), load_heldout(HELDOUT_EN)
    workload = [q for entry in kb.entries.values() for q in entry.questions]
    sets = {"Thai held-out": thai, "English held-out": english}
    texts = [c.text for c in thai + english] + workload

    print("training the embedded engine ...", file=sys.stderr, flush=True)
    embedded = EmbeddedNlu.from_knowledge_base(kb)
    model = train_current(quiet=True).model
    print(f"serving Rasa ({model.name}) ...", file=sys.stderr, flush=True)
    with RasaServer(ensure(quiet=True), model) as server:
        rasa = asyncio.run(parse_all(server.url, texts))

    for threshold in thresholds:
        local = [embedded.parse_if_sure(t, threshold) for t in texts]
        print(f"\nsure at {threshold}:")
        start = 0
        for name, cases in sets.items():
            end = start + len(cases)
            chosen, to_rasa = cascade(local[start:end], rasa[start:end])
            print(f"  {name:18} to Rasa {to_rasa:6.1%}  {figures(cases, chosen)}")
            start = end
        _, to_rasa = cascade(local[start:], rasa[start:])
        print(f"  {'load workload':18} to Rasa {to_rasa:6.1%}  (the knowledge base's own questions)")
    print("\nRasa alone:")
    start = 0
    for name, cases in sets.items():
        print(f"  {name:18} {figures(cases, rasa[start : start + len(cases)])}")
        start += len(cases)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
