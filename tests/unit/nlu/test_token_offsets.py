"""Offsets of the Thai tokenizer's words in the original message (what Rasa's tokens carry)."""

from __future__ import annotations

from itertools import pairwise

import pytest

from nlu.rasa_project.components.token_offsets import align
from nlu.thai_text import tokenize


def _pieces(text: str) -> list[str]:
    return [text[start:end] for start, end in align(text, tokenize(text))]


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("ครับบบบ ขอบคุณมากกกก", ["ครับบบบ", "ขอบคุณ", "มากกกก"]),
        ("ปลุกฉัน ตอน ๙ โมง", ["ปลุก", "ฉัน", "ตอน", "๙", "โมง"]),
        ("  DBD   e-Filing ยังไงคะะะะ ", ["DBD", "e-Filing", "ยังไง", "คะะะะ"]),
        ("กก กก", ["กก", "กก"]),
    ],
)
def test_each_word_maps_to_the_citizens_own_spelling(text: str, pieces: list[str]) -> None:
    assert _pieces(text) == pieces


def test_offsets_increase_and_never_overlap() -> None:
    text = "สวัสดีครับบบ  อยากจองชื่อบริษัท ๒ ชื่อค่าาาา!!!"
    spans = align(text, tokenize(text))
    assert all(start < end for start, end in spans)
    assert all(prev_end <= start for (_, prev_end), (start, _) in pairwise(spans))


def test_a_word_that_cannot_be_matched_still_gets_an_in_bounds_span() -> None:
    spans = align("abc", ["zzz", "q"])
    assert all(0 <= start < end <= 3 for start, end in spans)


def test_no_words_no_spans() -> None:
    assert align("", []) == []
