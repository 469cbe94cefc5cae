from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest

from knowledge_base.loader import DEFAULT_ROOT
from knowledge_base.validate import Problem, normalize_question, run_validate, validate_knowledge_base
from tests.unit.knowledge_base.conftest import (
    DEPARTMENTS,
    FILING_QUESTIONS,
    NAME_QUESTIONS,
    TmpKnowledgeBase,
    WriteKb,
    entry_yaml,
)

TODAY = dt.date(2026, 11, 25)


def problems_of(kb: TmpKnowledgeBase, *, warn_stale: bool = False) -> list[Problem]:
    return validate_knowledge_base(kb.root, TODAY, warn_stale=warn_stale)


def located(problems: list[Problem]) -> list[tuple[str, int, str]]:
    return [(p.file.name, p.line, p.severity) for p in problems]


def assert_one_error(
    problems: list[Problem], kb: TmpKnowledgeBase, relative: str, line: int, text: str
) -> None:
    assert len(problems) == 1, problems
    problem = problems[0]
    assert (problem.file, problem.line, problem.severity) == (kb.root / relative, line, "error")
    assert text in problem.message


class TestShippedKnowledgeBase:
    def test_has_no_problem_at_all(self) -> None:
        assert validate_knowledge_base(DEFAULT_ROOT, TODAY, warn_stale=True) == []

    def test_has_no_error_today(self) -> None:
        problems = validate_knowledge_base(DEFAULT_ROOT, dt.date.today())
        assert [p for p in problems if p.severity == "error"] == []

    def test_every_entry_has_at_least_twelve_questions(self) -> None:
        from knowledge_base.loader import load_knowledge_base

        kb = load_knowledge_base()
        assert {entry.id for entry in kb.entries.values() if len(entry.questions) < 12} == set()


class TestStructure:
    def test_small_valid_knowledge_base_has_no_problem(self, write_kb: WriteKb) -> None:
        assert problems_of(write_kb(), warn_stale=True) == []

    def test_invalid_yaml_points_at_its_line(self, write_kb: WriteKb) -> None:
        questions = [*NAME_QUESTIONS, "จองชื่อ: ยังไง: คะ"]
        kb = write_kb(registration=entry_yaml("name_reservation", "registration", questions))
        line = kb.line_of("faq/registration.yml", "จองชื่อ: ยังไง")
        assert_one_error(problems_of(kb), kb, "faq/registration.yml", line, "invalid YAML: mapping values")

    def test_unclosed_bracket_names_where_it_was_opened(self, write_kb: WriteKb) -> None:
        text = entry_yaml("name_reservation", "registration", NAME_QUESTIONS).replace(
            "  title: หัวข้อทดสอบ", "  title: [ไม่ปิดวงเล็บ"
        )
        kb = write_kb(registration=text)
        opened = kb.line_of("faq/registration.yml", "title")
        assert_one_error(problems_of(kb), kb, "faq/registration.yml", opened + 1, f"at line {opened})")

    def test_missing_field_points_at_the_entry(self, write_kb: WriteKb) -> None:
        text = entry_yaml("name_reservation", "registration", NAME_QUESTIONS).replace(
            "  source_url: https://www.dbd.go.th/\n", ""
        )
        kb = write_kb(registration=text)
        assert_one_error(problems_of(kb), kb, "faq/registration.yml", 1, "source_url: Field required")

    def test_unknown_field_points_at_its_line(self, write_kb: WriteKb) -> None:
        kb = write_kb(
            registration=entry_yaml("name_reservation", "registration", NAME_QUESTIONS, extra="anwser: พิมพ์ผิด")
        )
        line = kb.line_of("faq/registration.yml", "anwser")
        assert_one_error(problems_of(kb), kb, "faq/registration.yml", line, "anwser: Extra inputs")

    def test_non_text_question_points_at_its_line(self, write_kb: WriteKb) -> None:
        kb = write_kb(registration=entry_yaml("name_reservation", "registration", [*NAME_QUESTIONS, "1570"]))
        line = kb.line_of("faq/registration.yml", "- 1570")
        assert_one_error(problems_of(kb), kb, "faq/registration.yml", line, "questions.8")

    def test_duplicate_yaml_key_is_an_error(self, write_kb: WriteKb) -> None:
        kb = write_kb(
            registration=entry_yaml("name_reservation", "registration", NAME_QUESTIONS, extra="title: ซ้ำ")
        )
        line = kb.line_of("faq/registration.yml", "title", occurrence=2)
        assert_one_error(problems_of(kb), kb, "faq/registration.yml", line, "duplicate key 'title'")

    def test_unknown_department_points_at_the_department(self, write_kb: WriteKb) -> None:
        kb = write_kb(registration=entry_yaml("name_reservation", "marketing", NAME_QUESTIONS))
        problems = problems_of(kb)
        line = kb.line_of("faq/registration.yml", "department: marketing")
        assert ("registration.yml", line, "error") in located(problems)
        assert any("unknown department 'marketing'" in p.message for p in problems)

    def test_duplicate_id_points_at_the_second_entry(self, write_kb: WriteKb) -> None:
        accounts = entry_yaml("financial_statement_submission", "accounts", FILING_QUESTIONS)
        kb = write_kb(
            registration=entry_yaml("name_reservation", "registration", NAME_QUESTIONS)
            + entry_yaml("name_reservation", "registration", ["ชื่อซ้ำ" + q for q in NAME_QUESTIONS]),
            accounts=accounts,
        )
        line = kb.line_of("faq/registration.yml", "- id: name_reservation", occurrence=2)
        message = "duplicate entry id 'name_reservation' (first at faq/registration.yml:1)"
        assert_one_error(problems_of(kb), kb, "faq/registration.yml", line, message)

    def test_related_naming_an_unknown_id_points_at_it(self, write_kb: WriteKb) -> None:
        kb = write_kb(
            registration=entry_yaml(
                "name_reservation",
                "registration",
                NAME_QUESTIONS,
                related=["financial_statement_submission", "name_expiry"],
            )
        )
        line = kb.line_of("faq/registration.yml", "- name_expiry")
        assert_one_error(problems_of(kb), kb, "faq/registration.yml", line, "unknown entry 'name_expiry'")

    def test_entry_in_another_departments_file_is_an_error(self, write_kb: WriteKb) -> None:
        both = entry_yaml("name_reservation", "registration", NAME_QUESTIONS) + entry_yaml(
            "financial_statement_submission", "accounts", FILING_QUESTIONS
        )
        kb = write_kb(registration=both, accounts="[]\n")
        line = kb.line_of("faq/registration.yml", "department: accounts")
        assert_one_error(problems_of(kb), kb, "faq/registration.yml", line, "belongs in faq/accounts.yml")


class TestRequiredIds:
    def test_missing_required_id_points_at_the_requirement(self, write_kb: WriteKb) -> None:
        kb = write_kb(departments=DEPARTMENTS + "  complaint_process: registration\n")
        line = kb.line_of("departments.yml", "complaint_process")
        assert_one_error(
            problems_of(kb), kb, "departments.yml", line, "'complaint_process' [registration] is missing"
        )

    def test_required_id_owned_by_another_department_is_an_error(self, write_kb: WriteKb) -> None:
        kb = write_kb(
            departments=DEPARTMENTS.replace("name_reservation: registration", "name_reservation: accounts")
        )
        line = kb.line_of("faq/registration.yml", "department: registration")
        assert_one_error(
            problems_of(kb), kb, "faq/registration.yml", line, "must be owned by department 'accounts'"
        )

    def test_required_id_of_an_unknown_department_is_an_error(self, write_kb: WriteKb) -> None:
        kb = write_kb(departments=DEPARTMENTS + "  open_data: information\n")
        line = kb.line_of("departments.yml", "open_data")
        assert_one_error(problems_of(kb), kb, "departments.yml", line, "unknown department 'information'")


class TestQuestions:
    def test_same_question_in_two_entries_is_an_error_despite_particles_and_spaces(
        self, write_kb: WriteKb
    ) -> None:
        variant = "จองชื่อ บริษัท ยังไงครับบบ"
        kb = write_kb(
            accounts=entry_yaml("financial_statement_submission", "accounts", [*FILING_QUESTIONS, variant])
        )
        # faq/accounts.yml is read first, so the registration question is the repetition
        line = kb.line_of("faq/registration.yml", "จองชื่อบริษัทยังไงคะ")
        where = (
            f"entry 'financial_statement_submission', accounts.yml:{kb.line_of('faq/accounts.yml', variant)}"
        )
        assert_one_error(problems_of(kb), kb, "faq/registration.yml", line, f"repeats one in {where}")

    def test_same_question_twice_in_one_entry_is_an_error(self, write_kb: WriteKb) -> None:
        kb = write_kb(
            registration=entry_yaml("name_reservation", "registration", [*NAME_QUESTIONS, "วิธีจองชื่อนิติบุคคลค่ะ"])
        )
        line = kb.line_of("faq/registration.yml", "วิธีจองชื่อนิติบุคคลค่ะ")
        first = kb.line_of("faq/registration.yml", "วิธีจองชื่อนิติบุคคล")
        assert_one_error(problems_of(kb), kb, "faq/registration.yml", line, f"repeats one in line {first}")

    def test_near_duplicate_question_across_entries_is_an_error(self, write_kb: WriteKb) -> None:
        kb = write_kb(
            accounts=entry_yaml(
                "financial_statement_submission", "accounts", [*FILING_QUESTIONS, "ขั้นตอนการจองชื่อบริษัท"]
            ),
            registration=entry_yaml(
                "name_reservation", "registration", [*NAME_QUESTIONS, "ขั้นตอนการจองชื่อบริษัทจำกัด"]
            ),
        )
        line = kb.line_of("faq/registration.yml", "ขั้นตอนการจองชื่อบริษัทจำกัด")
        assert_one_error(problems_of(kb), kb, "faq/registration.yml", line, "nearly the same")

    def test_near_duplicates_within_one_entry_are_paraphrases(self, write_kb: WriteKb) -> None:
        questions = [*NAME_QUESTIONS, "ขั้นตอนการจองชื่อบริษัท", "ขั้นตอนการจองชื่อบริษัทจำกัด"]
        kb = write_kb(registration=entry_yaml("name_reservation", "registration", questions))
        assert problems_of(kb) == []

    def test_fewer_than_eight_questions_is_an_error(self, write_kb: WriteKb) -> None:
        kb = write_kb(registration=entry_yaml("name_reservation", "registration", NAME_QUESTIONS[:7]))
        line = kb.line_of("faq/registration.yml", "questions:")
        assert_one_error(problems_of(kb), kb, "faq/registration.yml", line, "has 7 questions, at least 8")

    def test_question_without_thai_is_an_error(self, write_kb: WriteKb) -> None:
        kb = write_kb(
            registration=entry_yaml("name_reservation", "registration", [*NAME_QUESTIONS, "name check"])
        )
        line = kb.line_of("faq/registration.yml", "name check")
        assert_one_error(problems_of(kb), kb, "faq/registration.yml", line, "'name check' has no Thai text")

    def test_english_questions_are_accepted_beside_eight_thai_ones(self, write_kb: WriteKb) -> None:
        english = ["How do I reserve a company name?", "how to จองชื่อบริษัท online"]
        kb = write_kb(
            registration=entry_yaml("name_reservation", "registration", [*NAME_QUESTIONS, *english])
        )
        assert problems_of(kb) == []

    def test_english_questions_do_not_count_towards_the_eight(self, write_kb: WriteKb) -> None:
        english = ["How do I reserve a company name?", "where can I book a name for my company"]
        questions = [*NAME_QUESTIONS[:7], *english]
        kb = write_kb(registration=entry_yaml("name_reservation", "registration", questions))
        line = kb.line_of("faq/registration.yml", "questions:")
        assert_one_error(
            problems_of(kb), kb, "faq/registration.yml", line, "has 7 questions in Thai, at least 8"
        )


class TestTexts:
    def test_answer_too_long_for_a_phone_is_an_error(self, write_kb: WriteKb) -> None:
        kb = write_kb(
            registration=entry_yaml("name_reservation", "registration", NAME_QUESTIONS, answer="ก" * 401)
        )
        line = kb.line_of("faq/registration.yml", "answer:")
        assert_one_error(
            problems_of(kb), kb, "faq/registration.yml", line, "answer is 401 characters, at most 400"
        )

    def test_answer_too_short_is_an_error(self, write_kb: WriteKb) -> None:
        kb = write_kb(
            registration=entry_yaml("name_reservation", "registration", NAME_QUESTIONS, answer="โทร 1570")
        )
        line = kb.line_of("faq/registration.yml", "answer:")
        assert_one_error(problems_of(kb), kb, "faq/registration.yml", line, "answer is 8 characters")

    def test_title_without_thai_is_an_error(self, write_kb: WriteKb) -> None:
        kb = write_kb(
            registration=entry_yaml("name_reservation", "registration", NAME_QUESTIONS, title="Names")
        )
        line = kb.line_of("faq/registration.yml", "title:")
        assert_one_error(problems_of(kb), kb, "faq/registration.yml", line, "title has no Thai text")

    def test_answer_without_thai_is_an_error(self, write_kb: WriteKb) -> None:
        answer = "Reserve the name online at e-regis.dbd.go.th, then register within thirty days."
        kb = write_kb(
            registration=entry_yaml("name_reservation", "registration", NAME_QUESTIONS, answer=answer)
        )
        line = kb.line_of("faq/registration.yml", "answer:")
        assert_one_error(problems_of(kb), kb, "faq/registration.yml", line, "answer has no Thai text")

    def test_unofficial_source_url_is_an_error(self, write_kb: WriteKb) -> None:
        kb = write_kb(
            registration=entry_yaml(
                "name_reservation", "registration", NAME_QUESTIONS, source_url="https://example.com/dbd"
            )
        )
        line = kb.line_of("faq/registration.yml", "source_url:")
        assert_one_error(problems_of(kb), kb, "faq/registration.yml", line, "not an official")


class TestFreshness:
    def test_stale_entry_is_a_warning_when_asked_for(self, write_kb: WriteKb) -> None:
        kb = write_kb(
            registration=entry_yaml(
                "name_reservation", "registration", NAME_QUESTIONS, reviewed_at="2025-01-01"
            )
        )
        line = kb.line_of("faq/registration.yml", "reviewed_at:")
        problems = problems_of(kb, warn_stale=True)
        assert located(problems) == [("registration.yml", line, "warning")]
        assert "reviewed 693 days ago" in problems[0].message

    def test_stale_entry_is_not_reported_by_default(self, write_kb: WriteKb) -> None:
        kb = write_kb(
            registration=entry_yaml(
                "name_reservation", "registration", NAME_QUESTIONS, reviewed_at="2025-01-01"
            )
        )
        assert problems_of(kb) == []

    def test_expired_entry_is_a_warning(self, write_kb: WriteKb) -> None:
        kb = write_kb(
            registration=entry_yaml(
                "name_reservation", "registration", NAME_QUESTIONS, extra="expires_at: 2026-11-24"
            )
        )
        line = kb.line_of("faq/registration.yml", "expires_at:")
        problems = problems_of(kb, warn_stale=True)
        assert located(problems) == [("registration.yml", line, "warning")]
        assert "expired on 2026-11-24" in problems[0].message


class TestRunValidate:
    def test_prints_file_line_messages_and_fails_on_an_error(self, write_kb: WriteKb) -> None:
        kb = write_kb(registration=entry_yaml("name_reservation", "registration", NAME_QUESTIONS[:7]))
        out = io.StringIO()
        assert run_validate(kb.root, warn_stale=False, out=out, today=TODAY) == 1
        first, summary = out.getvalue().splitlines()
        line = kb.line_of("faq/registration.yml", "questions:")
        assert first.endswith(
            f"registration.yml:{line}: error: entry 'name_reservation': has 7 questions, at least 8 needed"
        )
        assert summary.startswith("knowledge base is invalid: 1 error(s), 0 warning(s)")

    def test_warnings_alone_pass(self, write_kb: WriteKb) -> None:
        kb = write_kb(
            registration=entry_yaml(
                "name_reservation", "registration", NAME_QUESTIONS, reviewed_at="2020-01-01"
            )
        )
        out = io.StringIO()
        assert run_validate(kb.root, warn_stale=True, out=out, today=TODAY) == 0
        assert ": warning: " in out.getvalue()
        assert "knowledge base OK: 0 error(s), 1 warning(s)" in out.getvalue()

    def test_shipped_knowledge_base_passes(self) -> None:
        out = io.StringIO()
        assert run_validate(DEFAULT_ROOT, warn_stale=True, out=out, today=TODAY) == 0

    def test_missing_root_fails_clearly(self, tmp_path: Path) -> None:
        out = io.StringIO()
        assert run_validate(tmp_path / "nowhere", warn_stale=False, out=out, today=TODAY) == 1
        assert "missing or unreadable departments file" in out.getvalue()


class TestNormalizeQuestion:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("จองชื่อ บริษัท ยังไงครับบบ", "จองชื่อบริษัทยังไง"),
            ("ส่งงบได้ไหม นะคะ", "ส่งบได้ไหม"),
            ("ยื่น e-Filing จ้า", "ยื่นefiling"),
            ("ค่ะ", "ค่ะ"),
        ],
    )
    def test_removes_particles_spaces_and_repeats(self, text: str, expected: str) -> None:
        assert normalize_question(text) == expected


class TestEnglishTexts:
    def test_an_english_title_and_answer_are_accepted(self, write_kb: WriteKb) -> None:
        extra = "title_en: Reserve a company name online\nanswer_en: Log in to DBD e-Registration and choose name reservation."
        kb = write_kb(
            registration=entry_yaml("name_reservation", "registration", NAME_QUESTIONS, extra=extra)
        )
        assert problems_of(kb) == []

    def test_an_english_title_needs_an_english_answer(self, write_kb: WriteKb) -> None:
        extra = "title_en: Reserve a company name online"
        kb = write_kb(
            registration=entry_yaml("name_reservation", "registration", NAME_QUESTIONS, extra=extra)
        )
        line = kb.line_of("faq/registration.yml", "title_en:")
        assert_one_error(problems_of(kb), kb, "faq/registration.yml", line, "answer_en is missing")

    def test_an_english_answer_in_thai_is_an_error(self, write_kb: WriteKb) -> None:
        extra = "title_en: Reserve a company name online\nanswer_en: จองชื่อบริษัทที่ระบบ e-Registration ค่ะ"
        kb = write_kb(
            registration=entry_yaml("name_reservation", "registration", NAME_QUESTIONS, extra=extra)
        )
        line = kb.line_of("faq/registration.yml", "answer_en:")
        assert_one_error(problems_of(kb), kb, "faq/registration.yml", line, "answer_en is not English text")
