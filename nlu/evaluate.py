"""How well an NLU backend understands citizens: cross-validation and the held-out set.

``cross_validate`` backs ``govchat nlu evaluate``: stratified k-fold over the training examples,
any backend through a ``Trainer`` (the embedded engine by default, Rasa through its own trainer).
``evaluate_heldout`` runs a client and the hub's decision policy (passed in as ``decide``, so this
package never imports ``app``) over ``tests/data/heldout.jsonl``-style cases. The scoring functions
are pure: they take predictions and return reports.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold

from nlu.client import FAQ_INTENT, OUT_OF_SCOPE_INTENT, REQUEST_HUMAN_INTENT, NluClient, Prediction
from nlu.examples import Example
from nlu.metrics import CalibrationBin, LabelScore, agreement, calibration_bins, label_scores, top_confusions

Trainer = Callable[[Sequence[Example]], NluClient | Awaitable[NluClient]]
Decide = Callable[[Prediction], tuple[str, str | None]]  # -> (action, faq_id)
ANSWER = "answer"
ESCALATE = "escalate"
CLARIFY = "clarify"
SUGGESTIONS_CHECKED = 3


def predicted_label(prediction: Prediction) -> str:
    """The flat label a prediction stands for: ``faq/<id>`` when the intent is ``faq``, else the intent."""
    if prediction.intent == FAQ_INTENT and prediction.faq_id is not None:
        return f"faq/{prediction.faq_id}"
    return prediction.intent


def label_confidence(prediction: Prediction) -> float:
    return prediction.faq_confidence if prediction.intent == FAQ_INTENT else prediction.confidence


# ---------------------------------------------------------------- cross-validation


@dataclass(frozen=True)
class Report:
    folds: int
    examples: int
    intent_accuracy: float  # ``faq`` counts as one intent
    label_accuracy: float  # the right FAQ entry for FAQ questions, the right intent otherwise
    intents: tuple[LabelScore, ...]
    faq_entries: tuple[LabelScore, ...]
    confusions: tuple[tuple[str, str, int], ...]  # (true label, predicted label, count)
    calibration: tuple[CalibrationBin, ...]
    expected_calibration_error: float

    def format(self) -> str:
        lines = [
            f"{self.folds}-fold cross-validation over {self.examples} examples",
            f"intent accuracy {self.intent_accuracy:.3f}   label accuracy (FAQ entry or intent) "
            f"{self.label_accuracy:.3f}   expected calibration error {self.expected_calibration_error:.3f}",
            "",
            _score_table("intent", self.intents),
            "",
            _score_table("faq entry", self.faq_entries),
            "",
            "top confusions (true -> predicted: count)",
        ]
        lines += [f"  {t} -> {p}: {n}" for t, p, n in self.confusions] or ["  none"]
        lines += [
            "",
            "calibration of the predicted label's confidence",
            "  bin        n  mean conf  accuracy",
        ]
        lines += [
            f"  {b.low:.1f}-{b.high:.1f} {b.count:5d}  {b.mean_confidence:9.3f}  {b.accuracy:8.3f}"
            for b in self.calibration
            if b.count
        ]
        return "\n".join(lines)


def _score_table(title: str, scores: Sequence[LabelScore]) -> str:
    width = max([len(title), *(len(s.label) for s in scores)])
    rows = [f"{title:<{width}}  precision  recall     f1  support"]
    rows += [
        f"{s.label:<{width}}  {s.precision:9.3f}  {s.recall:6.3f}  {s.f1:5.3f}  {s.support:7d}"
        for s in scores
    ]
    return "\n".join(rows)


def score_cross_validation(
    examples: Sequence[Example], predictions: Sequence[Prediction], folds: int
) -> Report:
    """The report for out-of-fold ``predictions`` (``predictions[i]`` is of ``examples[i]``)."""
    true_labels = [e.label for e in examples]
    pred_labels = [predicted_label(p) for p in predictions]
    true_intents = [e.intent for e in examples]
    pred_intents = [p.intent for p in predictions]
    intents = sorted(set(true_intents) | set(pred_intents), key=lambda i: (i != FAQ_INTENT, i))
    faq_labels = sorted({label for label in true_labels if label.startswith("faq/")})
    faq_scores = label_scores(true_labels, pred_labels, faq_labels)
    calibration, ece = calibration_bins(
        [label_confidence(p) for p in predictions],
        [t == p for t, p in zip(true_labels, pred_labels, strict=True)],
    )
    return Report(
        folds=folds,
        examples=len(examples),
        intent_accuracy=agreement(true_intents, pred_intents),
        label_accuracy=agreement(true_labels, pred_labels),
        intents=label_scores(true_intents, pred_intents, intents),
        faq_entries=tuple(
            LabelScore(s.label.removeprefix("faq/"), s.precision, s.recall, s.f1, s.support)
            for s in faq_scores
        ),
        confusions=top_confusions(true_labels, pred_labels),
        calibration=calibration,
        expected_calibration_error=ece,
    )


def fold_indices(labels: Sequence[str], folds: int, seed: int = 0) -> list[np.ndarray]:
    """Test indices of each fold, stratified by label when every fold can hold a class."""
    if folds < 2 or folds > len(labels):
        raise ValueError(f"need 2 <= folds <= {len(labels)} examples, got {folds}")
    placeholder = np.zeros(len(labels))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # labels with fewer examples than folds
        if max(Counter(labels).values()) >= folds:
            splitter: StratifiedKFold | KFold = StratifiedKFold(folds, shuffle=True, random_state=seed)
            return [test for _, test in splitter.split(placeholder, list(labels))]
        return [test for _, test in KFold(folds, shuffle=True, random_state=seed).split(placeholder)]


def _embedded_trainer(examples: Sequence[Example]) -> NluClient:
    from nlu.embedded import EmbeddedNlu  # scikit-learn only when this default is used

    return EmbeddedNlu.train(examples)


async def cross_validate_async(
    examples: Sequence[Example], folds: int = 5, trainer: Trainer | None = None, seed: int = 0
) -> Report:
    train = trainer or _embedded_trainer
    predictions: list[Prediction | None] = [None] * len(examples)
    for test in fold_indices([e.label for e in examples], folds, seed):
        held_out = set(test.tolist())
        trained = train([e for i, e in enumerate(examples) if i not in held_out])
        client = await trained if inspect.isawaitable(trained) else trained
        try:
            for i in test.tolist():
                predictions[i] = await client.parse(examples[i].text)
        finally:
            await client.aclose()
    return score_cross_validation(examples, [p for p in predictions if p is not None], folds)


def cross_validate(
    examples: Sequence[Example], folds: int = 5, trainer: Trainer | None = None, seed: int = 0
) -> Report:
    """Stratified k-fold report per intent and per FAQ entry (the embedded engine unless ``trainer``)."""
    return asyncio.run(cross_validate_async(examples, folds, trainer, seed))


# ---------------------------------------------------------------- held-out set


@dataclass(frozen=True)
class HeldoutCase:
    text: str
    intent: str
    faq_id: str | None = None
    note: str = ""


def load_heldout(path: Path) -> list[HeldoutCase]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        data = json.loads(line)
        if not isinstance(data, dict) or not isinstance(data.get("text"), str) or not data.get("intent"):
            raise ValueError(f"{path}:{number}: expected an object with text and intent")
        faq_id = data.get("faq_id")
        cases.append(
            HeldoutCase(data["text"], str(data["intent"]), faq_id or None, str(data.get("note") or ""))
        )
    return cases


@dataclass(frozen=True)
class Outcome:
    case: HeldoutCase
    prediction: Prediction
    action: str
    faq_id: str | None  # the entry the decision refers to

    @property
    def answered(self) -> bool:
        return self.action == ANSWER

    @property
    def answered_right(self) -> bool:
        return self.answered and self.case.intent == FAQ_INTENT and self.faq_id == self.case.faq_id

    @property
    def answered_wrong(self) -> bool:
        """An FAQ answer to a different question, or to a message that asked no FAQ at all."""
        return self.answered and not self.answered_right


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass(frozen=True)
class IntentOutcome:
    intent: str
    cases: int
    intent_accuracy: float  # the NLU's intent was right
    actions: dict[str, int]


@dataclass(frozen=True)
class HeldoutReport:
    outcomes: tuple[Outcome, ...]

    def _of(self, intent: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.case.intent == intent]

    @property
    def faq_top1_accuracy(self) -> float | None:
        """FAQ questions whose best-ranked entry is the right one, whatever the action."""
        faq = self._of(FAQ_INTENT)
        return _rate(sum(o.prediction.faq_id == o.case.faq_id for o in faq), len(faq))

    @property
    def answer_accuracy(self) -> float | None:
        """FAQ questions answered with the right entry."""
        faq = self._of(FAQ_INTENT)
        return _rate(sum(o.answered_right for o in faq), len(faq))

    @property
    def answer_precision(self) -> float | None:
        """Answers given that were right."""
        answered = [o for o in self.outcomes if o.answered]
        return _rate(sum(o.answered_right for o in answered), len(answered))

    @property
    def wrong_answer_rate(self) -> float | None:
        """Wrong answers over all cases: the worst error."""
        return _rate(sum(o.answered_wrong for o in self.outcomes), len(self.outcomes))

    @property
    def clarify_hit_rate(self) -> float | None:
        """FAQ questions met with clarify whose right entry is among the first suggestions."""
        clarified = [o for o in self._of(FAQ_INTENT) if o.action == CLARIFY]
        hits = sum(
            o.case.faq_id in {r.name for r in o.prediction.faq_ranking[:SUGGESTIONS_CHECKED]}
            for o in clarified
        )
        return _rate(hits, len(clarified))

    @property
    def off_topic_not_answered(self) -> float | None:
        off_topic = self._of(OUT_OF_SCOPE_INTENT)
        return _rate(sum(not o.answered for o in off_topic), len(off_topic))

    @property
    def human_requests_escalated(self) -> float | None:
        requests = self._of(REQUEST_HUMAN_INTENT)
        return _rate(sum(o.action == ESCALATE for o in requests), len(requests))

    def per_intent(self) -> tuple[IntentOutcome, ...]:
        intents = sorted({o.case.intent for o in self.outcomes}, key=lambda i: (i != FAQ_INTENT, i))
        rows = []
        for intent in intents:
            of = self._of(intent)
            rows.append(
                IntentOutcome(
                    intent,
                    len(of),
                    sum(o.prediction.intent == intent for o in of) / len(of),
                    dict(Counter(o.action for o in of)),
                )
            )
        return tuple(rows)

    def format(self) -> str:
        def pct(value: float | None) -> str:
            return "n/a" if value is None else f"{value:6.1%}"

        lines = [
            f"held-out cases                 {len(self.outcomes)}",
            f"FAQ top-1 accuracy             {pct(self.faq_top1_accuracy)}",
            f"FAQ answered correctly         {pct(self.answer_accuracy)}",
            f"answers that were right        {pct(self.answer_precision)}",
            f"wrong-answer rate (all cases)  {pct(self.wrong_answer_rate)}",
            f"clarify offered the right one  {pct(self.clarify_hit_rate)}",
            f"off-topic not answered         {pct(self.off_topic_not_answered)}",
            f"requests for a person escalated {pct(self.human_requests_escalated)}",
            "",
            f"{'intent':<18}{'n':>5}{'intent acc':>12}  actions",
        ]
        for row in self.per_intent():
            actions = ", ".join(f"{a} {n}" for a, n in sorted(row.actions.items(), key=lambda x: -x[1]))
            lines.append(f"{row.intent:<18}{row.cases:>5}{row.intent_accuracy:>12.1%}  {actions}")
        wrong = [o for o in self.outcomes if o.answered_wrong]
        if wrong:
            lines += ["", "wrong answers (expected -> answered, confidence: text)"]
            for o in wrong:
                expected = o.case.faq_id or o.case.intent
                lines.append(f"  {expected} -> {o.faq_id}, {o.prediction.faq_confidence:.2f}: {o.case.text}")
        return "\n".join(lines)


def score_heldout(
    cases: Sequence[HeldoutCase], predictions: Sequence[Prediction], decide: Decide
) -> HeldoutReport:
    """Apply the decision policy to each prediction and score the outcomes (pure)."""
    outcomes = []
    for case, prediction in zip(cases, predictions, strict=True):
        action, faq_id = decide(prediction)
        outcomes.append(Outcome(case, prediction, str(action), faq_id))
    return HeldoutReport(tuple(outcomes))


async def predict_all(client: NluClient, texts: Iterable[str]) -> list[Prediction]:
    return [await client.parse(text) for text in texts]


async def evaluate_heldout(client: NluClient, cases: Sequence[HeldoutCase], decide: Decide) -> HeldoutReport:
    predictions = await predict_all(client, (case.text for case in cases))
    return score_heldout(cases, predictions, decide)
