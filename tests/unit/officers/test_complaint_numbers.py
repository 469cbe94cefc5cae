"""Complaint tracking numbers: CMP-<Buddhist-era year>-<6 digits>, found in what citizens type."""

from __future__ import annotations

import datetime as dt

import pytest

from app.complaints.service import buddhist_year, find_number, format_number


class TestFormat:
    def test_six_digits_and_the_buddhist_era_year(self) -> None:
        assert format_number(2569, 123) == "CMP-2569-000123"

    def test_the_year_is_the_thai_calendar_year(self) -> None:
        assert buddhist_year(dt.datetime(2026, 12, 31, 16, 59, tzinfo=dt.UTC)) == 2569
        assert buddhist_year(dt.datetime(2026, 12, 31, 17, 0, tzinfo=dt.UTC)) == 2570


class TestFindNumber:
    @pytest.mark.parametrize(
        "text",
        [
            "CMP-2569-000123",
            "เรื่อง CMP-2569-000123 ถึงไหนแล้วคะ",
            "cmp-2569-000123",
            "CMP 2569 000123",
            "CMP–2569–123",
            "CMP-๒๕๖๙-๐๐๐๑๒๓",
        ],
    )
    def test_what_citizens_type_is_normalised(self, text: str) -> None:
        assert find_number(text) == "CMP-2569-000123"

    @pytest.mark.parametrize("text", ["", "ติดตามเรื่องร้องเรียน", "CMP-69-1", "เลขที่ 2569-000123"])
    def test_no_number_no_match(self, text: str) -> None:
        assert find_number(text) is None
