"""Which language a citizen wrote in (``knowledge_base.language``)."""

from __future__ import annotations

import pytest

from knowledge_base.language import ENGLISH, THAI, detect_language, is_english_sentence


@pytest.mark.parametrize(
    "text",
    [
        "How do I register a company?",
        "how to get หนังสือรับรอง online",
        "where do I file งบการเงิน",
        "I want to จดทะเบียนบริษัท",
        "forgot password",
    ],
)
def test_english_and_english_led_code_switching_are_english(text: str) -> None:
    assert detect_language(text) == ENGLISH


@pytest.mark.parametrize(
    "text",
    [
        "จดทะเบียนบริษัทออนไลน์ยังไงคะ",
        "ส่งงบ e-Filing ยังไง",
        "ลืม password เข้าระบบ dbd",
        "ขอ company affidavit จาก DBD",
        "company certificate ขอ online ได้ไหม",
        "ok",
        "555",
        "",
        "🙏",
    ],
)
def test_thai_and_thai_led_code_switching_are_thai(text: str) -> None:
    assert detect_language(text) == THAI


def test_an_english_question_needs_a_function_word() -> None:
    assert is_english_sentence("How do I reserve a company name?")
    assert not is_english_sentence("name check")
