"""Insight rules: which decisions count as unanswered, the best guess, stale entries, masking."""

from __future__ import annotations

import datetime as dt

import pytest

from app.insights.service import best_guess, is_unanswered, is_uncertain_answer, mask_tree, stale_entries
from knowledge_base.loader import KnowledgeBase, load_knowledge_base

LOW = 0.7


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


class TestIsUnanswered:
    @pytest.mark.parametrize(
        ("nlu", "expected"),
        [
            ({"action": "fallback"}, True),
            ({"action": "escalate", "reason": "low_confidence"}, True),
            ({"action": "escalate", "reason": "repeated_fallback"}, True),
            ({"action": "escalate", "reason": "requested"}, False),
            ({"action": "escalate", "reason": "expired_answer"}, False),
            ({"action": "answer", "confidence": 0.6}, False),
            ({"action": "answer", "confidence": 0.95}, False),
            ({"action": "clarify", "confidence": 0.3}, False),
            ({"action": "smalltalk"}, False),
        ],
    )
    def test_decisions(self, nlu: dict[str, object], expected: bool) -> None:
        assert is_unanswered(nlu) is expected


class TestIsUncertainAnswer:
    @pytest.mark.parametrize(
        ("nlu", "expected"),
        [
            ({"action": "answer", "confidence": 0.6}, True),
            ({"action": "answer", "confidence": 0.95}, False),
            ({"action": "fallback", "confidence": 0.1}, False),
            ({"action": "answer"}, False),
        ],
    )
    def test_decisions(self, nlu: dict[str, object], expected: bool) -> None:
        assert is_uncertain_answer(nlu, LOW) is expected


class TestBestGuess:
    def test_the_first_ranked_entry(self, kb: KnowledgeBase) -> None:
        nlu = {
            "faq_id": "name_reservation",
            "faq_ranking": [{"name": "registration_fees", "confidence": 0.3}],
        }
        assert best_guess(nlu, kb) == "registration_fees"

    def test_the_decision_entry_without_a_ranking(self, kb: KnowledgeBase) -> None:
        assert best_guess({"faq_id": "name_reservation"}, kb) == "name_reservation"

    def test_an_entry_that_no_longer_exists_is_no_guess(self, kb: KnowledgeBase) -> None:
        assert best_guess({"faq_ranking": [{"name": "gone", "confidence": 0.9}]}, kb) is None


def test_entries_not_reviewed_for_the_period_are_stale(kb: KnowledgeBase) -> None:
    first = next(iter(kb.entries.values()))
    today = first.reviewed_at + dt.timedelta(days=400)

    flagged = stale_entries(kb, today, stale_after_days=365)

    assert first.id in {e["faq_id"] for e in flagged}
    assert all("stale" in e["reasons"] for e in flagged)
    assert stale_entries(kb, first.reviewed_at, stale_after_days=365) == []


def test_mask_tree_masks_keys_and_values() -> None:
    masked = mask_tree({"0812345678": ["โทร 0812345678", 3], "n": None})

    assert masked == {"[PHONE]": ["โทร [PHONE]", 3], "n": None}
