"""Rasa training data generated from examples: layout, retrieval intents, fingerprints."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nlu.examples import Example
from nlu.training_data import (
    DEFAULT_CONFIG,
    build_project,
    clean_example,
    group_examples,
    render_domain,
    render_nlu,
)

EXAMPLES = [
    Example("จองชื่อบริษัทยังไงคะ", "faq", "name_reservation"),
    Example("ตรวจสอบชื่อซ้ำได้ที่ไหน", "faq", "name_reservation"),
    Example("ส่งงบการเงินออนไลน์ยังไง", "faq", "financial_statement_submission"),
    Example("สวัสดีครับ", "greet"),
    Example("ขอคุยกับเจ้าหน้าที่", "request_human"),
]
TITLES = {"name_reservation": "จองชื่อนิติบุคคลออนไลน์", "financial_statement_submission": "ส่งงบการเงิน"}


def _nlu_blocks(text: str) -> dict[str, list[str]]:
    data = yaml.safe_load(text)
    return {block["intent"]: [line[2:] for line in block["examples"].splitlines()] for block in data["nlu"]}


class TestRenderNlu:
    def test_faq_questions_become_response_keys_of_the_retrieval_intent(self) -> None:
        blocks = _nlu_blocks(render_nlu(group_examples(EXAMPLES)))
        assert blocks["faq/name_reservation"] == ["จองชื่อบริษัทยังไงคะ", "ตรวจสอบชื่อซ้ำได้ที่ไหน"]
        assert blocks["faq/financial_statement_submission"] == ["ส่งงบการเงินออนไลน์ยังไง"]

    def test_core_intents_keep_their_names(self) -> None:
        blocks = _nlu_blocks(render_nlu(group_examples(EXAMPLES)))
        assert blocks["greet"] == ["สวัสดีครับ"]
        assert blocks["request_human"] == ["ขอคุยกับเจ้าหน้าที่"]

    def test_yaml_special_characters_survive_as_literal_text(self) -> None:
        tricky = [Example("ค่าธรรมเนียม: 500 บาท # จริงไหม", "faq", "fees"), Example("- ขีดนำหน้า", "greet")]
        blocks = _nlu_blocks(render_nlu(group_examples(tricky)))
        assert blocks["faq/fees"] == ["ค่าธรรมเนียม: 500 บาท # จริงไหม"]
        assert blocks["greet"] == ["- ขีดนำหน้า"]

    def test_duplicates_are_written_once(self) -> None:
        groups = group_examples([Example("สวัสดี", "greet"), Example(" สวัสดี ", "greet")])
        assert groups == {"greet": ["สวัสดี"]}


class TestCleanExample:
    def test_entity_annotation_brackets_are_neutralised(self) -> None:
        assert clean_example("จอง[ชื่อ](name) บริษัท") == "จอง(ชื่อ)(name) บริษัท"

    def test_line_breaks_and_runs_of_spaces_become_one_space(self) -> None:
        assert clean_example("  จองชื่อ\nบริษัท\t\tยังไง ") == "จองชื่อ บริษัท ยังไง"


class TestRenderDomain:
    def test_lists_intents_and_one_response_per_faq_entry_titled_by_the_entry(self) -> None:
        domain = yaml.safe_load(render_domain(group_examples(EXAMPLES), TITLES))
        assert domain["intents"] == ["faq", "greet", "request_human"]
        assert domain["responses"] == {
            "utter_faq/financial_statement_submission": [{"text": "ส่งงบการเงิน"}],
            "utter_faq/name_reservation": [{"text": "จองชื่อนิติบุคคลออนไลน์"}],
        }


class TestBuildProject:
    def test_writes_nlu_domain_and_config_into_a_folder_named_by_the_fingerprint(
        self, tmp_path: Path
    ) -> None:
        project = build_project(EXAMPLES, TITLES, tmp_path)
        assert project.root == tmp_path / project.fingerprint
        assert project.config_file.read_bytes() == DEFAULT_CONFIG.read_bytes()
        assert "faq/name_reservation" in project.nlu_file.read_text(encoding="utf-8")
        assert "utter_faq/name_reservation" in project.domain_file.read_text(encoding="utf-8")

    def test_same_inputs_give_the_same_fingerprint(self, tmp_path: Path) -> None:
        first = build_project(EXAMPLES, TITLES, tmp_path)
        again = build_project(list(EXAMPLES), dict(TITLES), tmp_path)
        assert again == first

    def test_a_changed_question_changes_the_fingerprint(self, tmp_path: Path) -> None:
        first = build_project(EXAMPLES, TITLES, tmp_path)
        changed = build_project(
            [*EXAMPLES, Example("จองชื่อได้กี่วัน", "faq", "name_reservation")], TITLES, tmp_path
        )
        assert changed.fingerprint != first.fingerprint

    def test_a_changed_config_changes_the_fingerprint(self, tmp_path: Path) -> None:
        other_config = tmp_path / "config.yml"
        other_config.write_text(DEFAULT_CONFIG.read_text(encoding="utf-8") + "\n# tuned\n", encoding="utf-8")
        first = build_project(EXAMPLES, TITLES, tmp_path / "build")
        changed = build_project(EXAMPLES, TITLES, tmp_path / "build", other_config)
        assert changed.fingerprint != first.fingerprint

    def test_unknown_intents_are_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="unknown intents"):
            build_project([*EXAMPLES, Example("จองตั๋ว", "book_ticket")], TITLES, tmp_path)


def test_texts_with_line_breaks_still_give_valid_yaml() -> None:
    rendered = render_nlu({"greet": ["สวัสดี\nครับ", "ดีจ้า\r\n- ทดสอบ: ok"], "thanks": ["\n"]})
    assert _nlu_blocks(rendered) == {"greet": ["สวัสดี ครับ", "ดีจ้า - ทดสอบ: ok"]}
