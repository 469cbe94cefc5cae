"""The satisfaction rating a citizen types after an officer resolved the conversation."""

from __future__ import annotations

import pytest

from app.conversations.flows import parse_rating


@pytest.mark.parametrize(("text", "rating"), [("5", 5), (" 1 ", 1), ("๔", 4), ("3 คะแนน", 3), ("4/5", 4)])
def test_a_digit_from_one_to_five_is_a_rating(text: str, rating: int) -> None:
    assert parse_rating(text) == rating


@pytest.mark.parametrize("text", ["0", "6", "10", "ห้า", "5 บาท", "ขอบคุณค่ะ", ""])
def test_anything_else_is_not(text: str) -> None:
    assert parse_rating(text) is None
