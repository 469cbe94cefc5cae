"""Outbound messages -> Send API message objects (channels/facebook/messages.py)."""

from __future__ import annotations

import unicodedata

import pytest

from channels.base import POSTBACK_CANCEL, POSTBACK_HUMAN, FaqCard, OutboundMessage
from channels.facebook.messages import (
    MAX_QUICK_REPLIES,
    MessengerLabels,
    build_parts,
    build_quick_replies,
    clip,
    split_text,
)

LABELS = MessengerLabels(source="ดูข้อมูลทางการ", human="คุยกับเจ้าหน้าที่", cancel="ยกเลิก")
SOURCE = "https://www.dbd.go.th/registration"
CARD = FaqCard("company_registration_online", "จดทะเบียนบริษัทออนไลน์ (DBD e-Registration)", SOURCE)


def _message(
    text: str, *, faq: FaqCard | None = None, quick_replies: tuple[str, ...] = ()
) -> OutboundMessage:
    return OutboundMessage(
        message_id="1", conversation_id="c", user_id="u", text=text, sender="bot", faq=faq,
        quick_replies=quick_replies,
    )  # fmt: skip


class TestFaqCard:
    def test_a_faq_answer_is_a_button_template_with_source_and_officer_buttons(self) -> None:
        text = f"จดทะเบียนออนไลน์ได้ที่ e-Registration ค่ะ\n{LABELS.source}: {SOURCE}"

        [part] = build_parts(_message(text, faq=CARD), LABELS)

        payload = part["attachment"]["payload"]
        assert part["attachment"]["type"] == "template"
        assert payload["template_type"] == "button"
        assert payload["text"] == "จดทะเบียนออนไลน์ได้ที่ e-Registration ค่ะ"  # the link is the button
        assert payload["buttons"] == [
            {"type": "web_url", "url": SOURCE, "title": LABELS.source},
            {"type": "postback", "title": LABELS.human, "payload": POSTBACK_HUMAN},
        ]

    def test_an_answer_over_640_characters_goes_as_text_then_the_template(self) -> None:
        answer = "ขั้นตอนการจดทะเบียน " * 40

        text_part, template = build_parts(_message(answer, faq=CARD), LABELS)

        assert text_part["text"] == answer.strip()
        assert template["attachment"]["payload"]["text"] == CARD.title
        assert len(answer) > 640

    def test_quick_replies_ride_on_the_last_part_without_repeating_the_officer_button(self) -> None:
        parts = build_parts(_message("ตอบ", faq=CARD, quick_replies=("ค่าธรรมเนียม", LABELS.human)), LABELS)

        assert [q["title"] for q in parts[-1]["quick_replies"]] == ["ค่าธรรมเนียม"]


class TestText:
    def test_plain_text_is_one_text_part(self) -> None:
        assert build_parts(_message("สวัสดีค่ะ"), LABELS) == [{"text": "สวัสดีค่ะ"}]

    def test_text_over_2000_characters_is_split_at_line_breaks(self) -> None:
        text = "\n".join(["ก" * 900] * 3)

        parts = build_parts(_message(text), LABELS)

        assert [len(p["text"]) for p in parts] == [1801, 900]

    def test_an_empty_message_is_refused(self) -> None:
        with pytest.raises(ValueError, match="no text"):
            build_parts(_message("   "), LABELS)


class TestQuickReplies:
    def test_officer_and_cancel_carry_our_payloads_other_options_their_whole_text(self) -> None:
        long = "หลักสูตรออนไลน์ฟรีสำหรับผู้ประกอบการ (DBD e-Learning)"

        replies = build_quick_replies([long, LABELS.human, LABELS.cancel], LABELS)

        assert [r["payload"] for r in replies] == [f"text:{long}", POSTBACK_HUMAN, POSTBACK_CANCEL]
        assert all(r["content_type"] == "text" for r in replies)
        assert all(len(r["title"]) <= 20 for r in replies)
        assert replies[0]["title"].endswith("…")

    def test_at_most_thirteen_distinct_options(self) -> None:
        options = [f"หัวข้อ {n}" for n in range(20)] + ["หัวข้อ 1"]

        assert len(build_quick_replies(options, LABELS)) == MAX_QUICK_REPLIES


class TestClipping:
    def test_a_cut_never_separates_a_thai_mark_from_its_consonant(self) -> None:
        original = "คุยกับเจ้าหน้าที่ได้ทุกวัน"
        for limit in range(2, len(original)):
            clipped = clip(original, limit)
            kept = clipped.removesuffix("…")
            assert len(clipped) <= limit
            assert original.startswith(kept)
            assert not unicodedata.category(original[len(kept)]).startswith("M")

    def test_split_thai_without_spaces_keeps_marks_with_their_consonant(self) -> None:
        chunks = split_text("ที่" * 1000, 2000)

        assert "".join(chunks) == "ที่" * 1000
        assert all(len(c) <= 2000 for c in chunks)
        assert all(not unicodedata.category(c[0]).startswith("M") for c in chunks)
