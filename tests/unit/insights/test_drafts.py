"""Knowledge-base drafts: written outside faq/, masked, idempotent, validated ids."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from app.insights.drafts import SuggestionError, write_suggestion
from knowledge_base.loader import KnowledgeBase, load_knowledge_base

NOW = dt.datetime(2026, 11, 25, 4, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


def test_a_draft_for_an_existing_entry(tmp_path: Path, kb: KnowledgeBase) -> None:
    draft = write_suggestion(tmp_path, kb, "name_reservation", "จองชื่อ  โทร 0812345678", source="cli", now=NOW)

    assert draft.created and draft.path.parent == tmp_path / "drafts"
    text = draft.path.read_text(encoding="utf-8")
    assert text.startswith("#")
    content = yaml.safe_load(text)
    assert content["department"] == "registration" and content["questions"] == ["จองชื่อ โทร [PHONE]"]


def test_a_draft_for_a_new_entry(tmp_path: Path, kb: KnowledgeBase) -> None:
    draft = write_suggestion(tmp_path, kb, None, "ขอใบอนุญาตขายสุรา", source="cli", now=NOW)

    content = yaml.safe_load(draft.path.read_text(encoding="utf-8"))
    assert draft.relative_path.startswith("drafts/new_entry-")
    assert content["faq_id"] is None and content["entry_exists"] is False


def test_the_same_suggestion_is_one_draft(tmp_path: Path, kb: KnowledgeBase) -> None:
    first = write_suggestion(tmp_path, kb, "name_reservation", "จองชื่อ", source="cli", now=NOW)
    second = write_suggestion(tmp_path, kb, "name_reservation", "จองชื่อ", source="api", now=NOW)

    assert second.path == first.path and not second.created
    assert len(list((tmp_path / "drafts").iterdir())) == 1


@pytest.mark.parametrize(
    ("faq_id", "question"), [("../faq/general", "คำถาม"), ("Name", "คำถาม"), ("ok", "   ")]
)
def test_bad_suggestions_are_refused(tmp_path: Path, kb: KnowledgeBase, faq_id: str, question: str) -> None:
    with pytest.raises(SuggestionError):
        write_suggestion(tmp_path, kb, faq_id, question, source="cli", now=NOW)
    assert not (tmp_path / "drafts").exists()
