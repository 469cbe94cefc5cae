"""NLU evaluation metrics on hand-made predictions, and the cross-validation loop with fake trainers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from nlu.client import FAQ_INTENT, Prediction, Ranked
from nlu.evaluate import (
    HeldoutCase,
    HeldoutReport,
    cross_validate,
    cross_validate_async,
    evaluate_heldout,
    fold_indices,
    load_heldout,
    predicted_label,
    score_cross_validation,
    score_heldout,
)
from nlu.examples import Example
from nlu.metrics import calibration_bins, label_scores, top_confusions


def faq(text: str, faq_id: str, confidence: float, runner_up: str = "other_entry") -> Prediction:
    return Prediction(
        text=text,
        intent=FAQ_INTENT,
        confidence=min(1.0, confidence + 0.05),
        intent_ranking=(Ranked(FAQ_INTENT, min(1.0, confidence + 0.05)),),
        faq_ranking=(Ranked(faq_id, confidence), Ranked(runner_up, 0.01)),
    )


def intent(text: str, name: str, confidence: float = 0.9) -> Prediction:
    return Prediction(
        text=text,
        intent=name,
        confidence=confidence,
        intent_ranking=(Ranked(name, confidence),),
        faq_ranking=(Ranked("some_entry", 0.02),),
    )


def threshold_policy(prediction: Prediction) -> tuple[str, str | None]:
    """A stand-in for the hub's policy: answer at 0.5, clarify at 0.2, escalate requests."""
    if prediction.intent == "request_human":
        return "escalate", None
    if prediction.intent == FAQ_INTENT and prediction.faq_confidence >= 0.5:
        return "answer", prediction.faq_id
    if prediction.intent == FAQ_INTENT and prediction.faq_confidence >= 0.2:
        return "clarify", prediction.faq_id
    return "fallback", None


class TestLabelScores:
    def test_precision_recall_f1_by_hand(self) -> None:
        truth = ["a", "a", "a", "b", "b", "c"]
        predicted = ["a", "a", "b", "b", "a", "c"]
        a, b, c = label_scores(truth, predicted, ["a", "b", "c"])
        assert (a.precision, a.recall, a.support) == (pytest.approx(2 / 3), pytest.approx(2 / 3), 3)
        assert (b.precision, b.recall) == (pytest.approx(0.5), pytest.approx(0.5))
        assert (c.precision, c.recall, c.f1) == (1.0, 1.0, 1.0)

    def test_never_predicted_label_scores_zero_without_dividing_by_zero(self) -> None:
        (score,) = label_scores(["a", "a"], ["b", "b"], ["a"])
        assert (score.precision, score.recall, score.f1, score.support) == (0.0, 0.0, 0.0, 2)

    def test_confusions_are_counted_and_ranked_most_frequent_first(self) -> None:
        truth = ["a", "a", "a", "b", "c", "c"]
        predicted = ["b", "b", "a", "a", "a", "c"]
        assert top_confusions(truth, predicted) == (("a", "b", 2), ("b", "a", 1), ("c", "a", 1))


class TestCalibrationBins:
    def test_expected_calibration_error_by_hand(self) -> None:
        # 0.95-bin: 2 cases, one right (acc 0.5, conf 0.95); 0.25-bin: 2 cases, both wrong (conf 0.25).
        bins, ece = calibration_bins([0.95, 0.95, 0.25, 0.25], [True, False, False, False])
        assert ece == pytest.approx((2 * 0.45 + 2 * 0.25) / 4)
        assert [b.count for b in bins if b.count] == [2, 2]

    def test_confidence_of_one_lands_in_the_last_bin(self) -> None:
        bins, ece = calibration_bins([1.0], [True])
        assert bins[-1].count == 1 and ece == 0.0


class TestScoreCrossValidation:
    def test_intent_and_label_accuracy_and_faq_scores(self) -> None:
        examples = [
            Example("q1", FAQ_INTENT, "fees"),
            Example("q2", FAQ_INTENT, "fees"),
            Example("q3", FAQ_INTENT, "hours"),
            Example("hi", "greet"),
        ]
        predictions = [
            faq("q1", "fees", 0.9),
            faq("q2", "hours", 0.6),  # right intent, wrong entry
            faq("q3", "hours", 0.7),
            intent("hi", "thanks"),  # wrong intent
        ]
        report = score_cross_validation(examples, predictions, folds=2)
        assert report.intent_accuracy == pytest.approx(3 / 4)
        assert report.label_accuracy == pytest.approx(2 / 4)
        scores = {s.label: s for s in report.faq_entries}
        assert scores["fees"].recall == pytest.approx(0.5) and scores["fees"].precision == 1.0
        assert scores["hours"].precision == pytest.approx(0.5)
        assert ("faq/fees", "faq/hours", 1) in report.confusions
        text = report.format()
        assert "faq entry" in text and "fees" in text and "greet -> thanks: 1" in text

    def test_predicted_label_is_the_entry_for_faq_and_the_intent_otherwise(self) -> None:
        assert predicted_label(faq("x", "fees", 0.9)) == "faq/fees"
        assert predicted_label(intent("x", "greet")) == "greet"


def _examples() -> list[Example]:
    return [Example(f"fees {n}", FAQ_INTENT, "fees") for n in range(6)] + [
        Example(f"hello {n}", "greet") for n in range(6)
    ]


class _FirstWordClient:
    """Predicts from the first word; remembers what it was trained on."""

    name = "fake"

    def __init__(self, trained_on: Sequence[Example]) -> None:
        self.trained_on = {e.text for e in trained_on}
        self.closed = False

    async def parse(self, text: str) -> Prediction:
        assert text not in self.trained_on, "a held-out example was in the training fold"
        return faq(text, "fees", 0.9) if text.startswith("fees") else intent(text, "greet")

    async def is_ready(self) -> bool:
        return True

    async def aclose(self) -> None:
        self.closed = True


class TestCrossValidate:
    def test_every_example_is_predicted_once_by_a_model_that_did_not_see_it(self) -> None:
        clients: list[_FirstWordClient] = []

        def trainer(examples: Sequence[Example]) -> _FirstWordClient:
            clients.append(_FirstWordClient(examples))
            return clients[-1]

        report = cross_validate(_examples(), folds=3, trainer=trainer)
        assert len(clients) == 3 and all(c.closed for c in clients)
        assert report.examples == 12 and report.label_accuracy == 1.0

    async def test_an_async_trainer_is_awaited(self) -> None:
        async def trainer(examples: Sequence[Example]) -> _FirstWordClient:
            return _FirstWordClient(examples)

        report = await cross_validate_async(_examples(), folds=2, trainer=trainer)
        assert report.intent_accuracy == 1.0

    def test_folds_are_stratified_by_label(self) -> None:
        labels = ["a"] * 6 + ["b"] * 3
        for test in fold_indices(labels, 3):
            assert sorted(labels[i] for i in test) == ["a", "a", "b"]

    def test_impossible_fold_counts_are_refused(self) -> None:
        with pytest.raises(ValueError, match="folds"):
            fold_indices(["a", "b"], 3)

    def test_embedded_engine_is_the_default_trainer(self) -> None:
        examples = [Example(t, FAQ_INTENT, "fees") for t in ("ค่าธรรมเนียมจดทะเบียน", "ค่าจดบริษัทเท่าไหร่")]
        examples += [Example(t, "greet") for t in ("สวัสดีครับ", "หวัดดีค่ะ")]
        report = cross_validate(examples, folds=2)
        assert report.examples == 4 and 0.0 <= report.label_accuracy <= 1.0


HELDOUT_CASES = [
    HeldoutCase("q fees", FAQ_INTENT, "fees"),  # answered right
    HeldoutCase("q hours", FAQ_INTENT, "hours"),  # answered with the wrong entry
    HeldoutCase("q docs", FAQ_INTENT, "docs"),  # clarify, right entry first
    HeldoutCase("weather", "out_of_scope"),  # answered: wrong
    HeldoutCase("lottery", "out_of_scope"),  # fallback: right
    HeldoutCase("a person", "request_human"),  # escalated
    HeldoutCase("officer!", "request_human"),  # misread as greet
    HeldoutCase("hi", "greet"),
]
HELDOUT_PREDICTIONS = [
    faq("q fees", "fees", 0.9),
    faq("q hours", "fees", 0.8),
    faq("q docs", "docs", 0.3),
    faq("weather", "hours", 0.7),
    intent("lottery", "out_of_scope"),
    intent("a person", "request_human"),
    intent("officer!", "greet"),
    intent("hi", "greet"),
]


class TestScoreHeldout:
    @pytest.fixture
    def report(self) -> HeldoutReport:
        return score_heldout(HELDOUT_CASES, HELDOUT_PREDICTIONS, threshold_policy)

    def test_faq_top1_counts_the_ranking_whatever_the_action(self, report: HeldoutReport) -> None:
        assert report.faq_top1_accuracy == pytest.approx(2 / 3)

    def test_answer_accuracy_counts_right_answers_over_faq_cases(self, report: HeldoutReport) -> None:
        assert report.answer_accuracy == pytest.approx(1 / 3)
        assert report.answer_precision == pytest.approx(1 / 3)

    def test_wrong_answers_include_answers_to_off_topic_questions(self, report: HeldoutReport) -> None:
        assert report.wrong_answer_rate == pytest.approx(2 / 8)

    def test_off_topic_and_human_request_rates(self, report: HeldoutReport) -> None:
        assert report.off_topic_not_answered == pytest.approx(1 / 2)
        assert report.human_requests_escalated == pytest.approx(1 / 2)
        assert report.clarify_hit_rate == 1.0

    def test_per_intent_accuracy_and_actions(self, report: HeldoutReport) -> None:
        rows = {row.intent: row for row in report.per_intent()}
        assert rows[FAQ_INTENT].actions == {"answer": 2, "clarify": 1}
        assert rows["request_human"].intent_accuracy == pytest.approx(0.5)
        assert rows["out_of_scope"].intent_accuracy == pytest.approx(0.5)

    def test_format_lists_the_wrong_answers(self, report: HeldoutReport) -> None:
        text = report.format()
        assert "hours -> fees" in text and "out_of_scope -> hours" in text
        assert "wrong-answer rate" in text

    def test_rates_without_cases_are_not_available(self) -> None:
        report = score_heldout([HeldoutCase("hi", "greet")], [intent("hi", "greet")], threshold_policy)
        assert report.answer_accuracy is None and report.off_topic_not_answered is None
        assert "n/a" in report.format()


class _ScriptedClient:
    name = "scripted"

    def __init__(self, predictions: Sequence[Prediction]) -> None:
        self._by_text = {p.text: p for p in predictions}

    async def parse(self, text: str) -> Prediction:
        return self._by_text[text]

    async def is_ready(self) -> bool:
        return True

    async def aclose(self) -> None:
        return None


async def test_evaluate_heldout_parses_every_case_and_applies_the_policy() -> None:
    report = await evaluate_heldout(_ScriptedClient(HELDOUT_PREDICTIONS), HELDOUT_CASES, threshold_policy)
    assert [o.action for o in report.outcomes][:3] == ["answer", "answer", "clarify"]
    assert report.wrong_answer_rate == pytest.approx(2 / 8)


class TestLoadHeldout:
    def test_reads_cases_and_treats_a_null_faq_id_as_none(self, tmp_path: Path) -> None:
        path = tmp_path / "heldout.jsonl"
        rows = [
            {"text": "จองชื่อ", "intent": "faq", "faq_id": "name_reservation", "note": "short"},
            {"text": "สวัสดี", "intent": "greet", "faq_id": None, "note": ""},
        ]
        path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n", encoding="utf-8")
        assert load_heldout(path) == [
            HeldoutCase("จองชื่อ", "faq", "name_reservation", "short"),
            HeldoutCase("สวัสดี", "greet", None, ""),
        ]

    def test_a_line_without_intent_is_refused_with_its_line_number(self, tmp_path: Path) -> None:
        path = tmp_path / "heldout.jsonl"
        path.write_text('{"text": "x", "intent": "greet"}\n{"text": "y"}\n', encoding="utf-8")
        with pytest.raises(ValueError, match=":2:"):
            load_heldout(path)
