"""The open-data file: period parsing, Bangkok day bounds, suppression and the CSV shape."""

from __future__ import annotations

import datetime as dt

import pytest

from app.insights.opendata import (
    OpenDataRequestError,
    parse_period,
    period_bounds,
    published_count,
    render_csv,
)
from app.insights.repository import DailyAggregate


class TestParsePeriod:
    def test_a_valid_period(self) -> None:
        assert parse_period("2026-01-01", "2026-01-31") == (dt.date(2026, 1, 1), dt.date(2026, 1, 31))

    def test_one_day(self) -> None:
        assert parse_period("2026-01-01", "2026-01-01") == (dt.date(2026, 1, 1), dt.date(2026, 1, 1))

    @pytest.mark.parametrize(
        ("start", "end", "reason"),
        [
            (None, "2026-01-01", "'from' is required"),
            ("2026-01-01", "", "'to' is required"),
            ("2026-1-1", "2026-01-02", "'from' must be a date as YYYY-MM-DD"),
            ("2026-02-30", "2026-03-01", "'from' must be a date"),
            ("2026-03-02", "2026-03-01", "is after"),
            ("2025-01-01", "2026-01-02", "at most 366 days"),
        ],
    )
    def test_bad_periods_say_why(self, start: str | None, end: str | None, reason: str) -> None:
        with pytest.raises(OpenDataRequestError, match=reason):
            parse_period(start, end)


def test_a_period_is_bangkok_midnight_to_the_midnight_after_to() -> None:
    start, end = period_bounds(dt.date(2026, 3, 1), dt.date(2026, 3, 2))

    assert start == dt.datetime(2026, 2, 28, 17, 0, tzinfo=dt.UTC)
    assert end == dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("count", "shown"), [(0, "<5"), (1, "<5"), (4, "<5"), (5, "5"), (120, "120")])
def test_counts_below_five_are_suppressed(count: int, shown: str) -> None:
    assert published_count(count) == shown


def test_the_file_starts_with_a_bom_and_the_fixed_header() -> None:
    text = render_csv([DailyAggregate("2026-03-01", "line", "faq", "company_certificate", 12, 3)])

    assert text.startswith("\ufeffdate,channel,intent,faq_id,messages,escalations\r\n")
    assert text.endswith("2026-03-01,line,faq,company_certificate,12,<5\r\n")
