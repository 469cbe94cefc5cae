"""The rules one drafted entry must pass, with the reason in Thai for the console."""

from __future__ import annotations

from typing import Any

from knowledge_base.entry_rules import placement_findings, question_findings, text_findings
from knowledge_base.loader import load_knowledge_base
from knowledge_base.schema import FaqEntry

THAI_QUESTIONS = [
    "ที่จอดรถอยู่ตรงไหน",
    "มีที่จอดรถไหมคะ",
    "จอดรถที่กรมได้ไหม",
    "ค่าจอดรถเท่าไหร่",
    "ลานจอดรถกรมพัฒน์",
    "ไปติดต่อที่กรมเอารถไปจอดที่ไหน",
    "จอดรถฟรีไหม",
    "ที่จอดรถผู้มาติดต่อ",
]


def draft(**overrides: Any) -> FaqEntry:
    values: dict[str, Any] = {
        "id": "walk_in_parking",
        "department": "general",
        "title": "ที่จอดรถสำหรับผู้มาติดต่อ",
        "answer": "ผู้มาติดต่อจอดรถได้ที่ลานจอดด้านหน้าอาคารกรม ฟรีตลอดเวลาทำการ แสดงบัตรคิวที่ป้อมยามเมื่อออกค่ะ",
        "source_url": "https://www.dbd.go.th/",
        "reviewed_at": "2026-12-01",
        "questions": THAI_QUESTIONS,
    }
    values.update(overrides)
    return FaqEntry.model_validate(values)


def has_thai(text: str) -> bool:
    return any("\u0e00" <= c <= "\u0e7f" for c in text)


class TestTextFindings:
    def test_a_good_entry_has_none(self) -> None:
        assert list(text_findings(draft())) == []

    def test_each_finding_names_its_field_in_english_and_thai(self) -> None:
        findings = list(
            text_findings(
                draft(
                    answer="สั้นไป",
                    source_url="https://example.com/",
                    questions=THAI_QUESTIONS[:3],
                    title_en="Parking",
                )
            )
        )
        assert {f.field for f in findings} == {"answer", "source_url", "questions", "title_en"}
        assert all(has_thai(f.message_th) and not has_thai(f.message.split("'")[0]) for f in findings)

    def test_the_english_reasons_are_kb_validates(self) -> None:
        [finding] = text_findings(draft(answer="สั้นไป"))
        assert finding.message == "answer is 6 characters, at least 40"


class TestQuestionFindings:
    def test_a_question_another_entry_has_is_refused_naming_that_entry(self) -> None:
        kb = load_knowledge_base()
        other = kb.entries["contact_channels"]
        [finding] = question_findings(
            draft(questions=[*THAI_QUESTIONS, other.questions[0]]), kb.entries.values()
        )
        assert finding.loc == ("questions", len(THAI_QUESTIONS)) and other.title in finding.message_th

    def test_a_question_repeated_within_the_entry_is_refused(self) -> None:
        [finding] = question_findings(draft(questions=[*THAI_QUESTIONS, THAI_QUESTIONS[0] + "ครับ"]), [])
        assert finding.loc == ("questions", len(THAI_QUESTIONS))

    def test_the_entrys_own_published_questions_do_not_count(self) -> None:
        assert list(question_findings(draft(), [draft()])) == []


class TestPlacementFindings:
    def test_unknown_department_related_and_a_required_entry_elsewhere(self) -> None:
        entry = draft(id="registration_fees", department="nowhere", related=["registration_fees", "gone"])
        findings = list(
            placement_findings(
                entry, ["contact_channels"], ["general"], {"registration_fees": "registration"}
            )
        )
        assert [f.loc for f in findings] == [("department",), ("department",), ("related", 0), ("related", 1)]
