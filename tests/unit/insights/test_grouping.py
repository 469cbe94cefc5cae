"""Grouping unanswered questions: Thai paraphrases count once, personal data never shows."""

from __future__ import annotations

from app.insights.grouping import cluster_keys, group_questions, grouping_key
from app.logging import mask_pii


class TestMaskPersonalData:
    def test_thai_id_phone_and_email_are_masked(self) -> None:
        text = "บัตร 1-1017-00207-03-0 โทร 081 234 5678 อีเมล somchai@example.co.th"

        assert mask_pii(text) == "บัตร [THAI-ID] โทร [PHONE] อีเมล [EMAIL]"

    def test_numbers_in_thai_digits_are_masked_too(self) -> None:
        assert mask_pii("โทร ๐๘๑๒๓๔๕๖๗๘ นะคะ") == "โทร [PHONE] นะคะ"

    def test_an_ordinary_number_stays(self) -> None:
        assert mask_pii("ทุนจดทะเบียน 1000000 บาท") == "ทุนจดทะเบียน 1000000 บาท"


class TestGroupingKey:
    def test_particles_spacing_and_emphasis_do_not_matter(self) -> None:
        keys = {
            grouping_key(t) for t in ("จองชื่อบริษัทยังไงครับ", "จองชื่อ บริษัท ทำยังไงคะ", "อยากจองชื่อบริษัทต้องทำไงคะะะ")
        }

        assert keys == {"จอง ชื่อ บริษัท"}

    def test_a_question_of_only_fillers_keeps_its_words(self) -> None:
        assert grouping_key("ได้ไหมครับ") != ""


class TestGroupQuestions:
    def test_the_same_question_in_three_spellings_is_one_group_of_three(self) -> None:
        questions = [
            ("ค่าปรับส่งงบการเงินช้าเท่าไหร่", "financial_statement_deadline"),
            ("ส่งงบการเงินช้า ค่าปรับเท่าไหร่คะ", "financial_statement_deadline"),
            ("ส่งงบการเงินช้าาา  ค่าปรับเท่าไหร่ครับ", None),
            ("ลืมรหัสผ่าน e-service", "e_service_account"),
        ]

        groups = group_questions(questions)

        assert [g.count for g in groups] == [3, 1]
        assert groups[0].best_guess == "financial_statement_deadline"
        assert groups[1].example == "ลืมรหัสผ่าน e-service"

    def test_loanwords_and_spelling_variants_are_one_question(self) -> None:
        groups = group_questions(
            [
                ("ลืมรหัสผ่าน e-service", None),
                ("ลืมพาสเวิร์ด e-service ค่ะ", None),
                ("ลืม password ระบบ e-service", None),
            ]
        )

        assert [g.count for g in groups] == [3]

    def test_different_questions_on_one_topic_stay_apart(self) -> None:
        groups = group_questions(
            [("จองชื่อบริษัทยังไง", None), ("ยกเลิกการจองชื่อ", None), ("จดทะเบียนห้างหุ้นส่วน", None)]
        )

        assert sorted(g.count for g in groups) == [1, 1, 1]

    def test_texts_differing_only_in_personal_data_are_one_masked_wording(self) -> None:
        groups = group_questions(
            [("เลขบัตร 1101700207030 ใช้ทำอะไร", None)] * 2 + [("เลขบัตร 3100600445562 ใช้ทำอะไร", None)]
        )

        assert len(groups) == 1 and groups[0].count == 3
        assert groups[0].example == "เลขบัตร [THAI-ID] ใช้ทำอะไร"
        assert groups[0].members == ["เลขบัตร [THAI-ID] ใช้ทำอะไร"]

    def test_empty_input_gives_no_group(self) -> None:
        assert group_questions([("", None), ("   ", None)]) == []


class TestClusterKeys:
    def test_one_key_is_one_cluster(self) -> None:
        assert cluster_keys(["จอง ชื่อ"]) == [0]

    def test_identical_keys_share_a_cluster(self) -> None:
        labels = cluster_keys(["จอง ชื่อ บริษัท", "จอง ชื่อ บริษัท", "ลืม รหัสผ่าน"])

        assert labels[0] == labels[1] != labels[2]


def test_an_example_with_a_mistyped_national_id_shows_none_of_its_digits() -> None:
    mistyped = "1101700207031"  # the checksum digit is wrong
    groups = group_questions([(f"ขอตรวจสถานะ เลขบัตร {mistyped} ค่ะ", None)] * 2)
    assert groups and all(mistyped not in g.example and "0207" not in g.example for g in groups)
