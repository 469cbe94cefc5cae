"""Office hours from knowledge_base/office_hours.yml: weekly hours and Thai public holidays."""

from __future__ import annotations

import datetime as dt

import pytest

from knowledge_base.office_hours import OfficeHours, load_office_hours

BANGKOK = dt.timezone(dt.timedelta(hours=7))


@pytest.fixture(scope="module")
def hours() -> OfficeHours:
    return load_office_hours()


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BANGKOK)  # type: ignore[misc]


class TestIsOpen:
    @pytest.mark.parametrize(
        ("moment", "open_"),
        [
            (at(2026, 11, 25, 8, 29), False),
            (at(2026, 11, 25, 8, 30), True),
            (at(2026, 11, 25, 16, 29), True),
            (at(2026, 11, 25, 16, 30), False),
            (at(2026, 11, 28, 10, 0), False),  # Saturday
            (at(2026, 4, 14, 10, 0), False),  # Songkran
            (at(2027, 12, 6, 10, 0), False),  # substitution holiday
        ],
    )
    def test_weekday_hours_only_and_never_on_holidays(
        self, hours: OfficeHours, moment: dt.datetime, open_: bool
    ) -> None:
        assert hours.is_open(moment) is open_

    def test_the_time_zone_is_bangkok_whatever_the_input(self, hours: OfficeHours) -> None:
        assert hours.is_open(dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC))  # 09:00 in Bangkok
        assert not hours.is_open(dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC))  # 17:00


class TestNextOpen:
    def test_before_opening_it_is_the_same_morning(self, hours: OfficeHours) -> None:
        assert hours.next_open(at(2026, 11, 25, 6, 0)) == at(2026, 11, 25, 8, 30)

    def test_after_closing_it_is_the_next_working_day(self, hours: OfficeHours) -> None:
        assert hours.next_open(at(2026, 11, 27, 17, 0)) == at(2026, 11, 30, 8, 30)  # Friday -> Monday

    def test_songkran_is_skipped(self, hours: OfficeHours) -> None:
        assert hours.next_open(at(2026, 4, 10, 20, 0)) == at(2026, 4, 16, 8, 30)

    def test_new_years_eve_to_the_first_working_day(self, hours: OfficeHours) -> None:
        assert hours.next_open(at(2026, 12, 30, 17, 0)) == at(2027, 1, 4, 8, 30)

    def test_while_open_it_is_now(self, hours: OfficeHours) -> None:
        assert hours.next_open(at(2026, 11, 25, 10, 0)) == at(2026, 11, 25, 10, 0)


class TestDescribe:
    def test_thai_weekday_month_and_buddhist_era_year(self, hours: OfficeHours) -> None:
        assert hours.describe(at(2027, 1, 4, 8, 30)) == "วันจันทร์ที่ 4 มกราคม 2570 เวลา 08:30 น."
        assert hours.describe_date(dt.date(2026, 12, 10)) == "10 ธันวาคม 2569"


class TestData:
    def test_holidays_of_2026_and_2027_are_listed(self, hours: OfficeHours) -> None:
        years = {h.date.year for h in hours.holidays}
        assert {2026, 2027} <= years
        assert len([h for h in hours.holidays if h.date.year == 2026]) >= 15

    def test_no_holiday_is_listed_twice(self, hours: OfficeHours) -> None:
        dates = [h.date for h in hours.holidays]
        assert len(dates) == len(set(dates))

    def test_closing_before_opening_is_refused(self) -> None:
        with pytest.raises(ValueError, match="before closing"):
            OfficeHours.model_validate(
                {
                    **load_office_hours().model_dump(),
                    "weekly": {"mon": ["17:00", "08:00"]},
                }
            )
