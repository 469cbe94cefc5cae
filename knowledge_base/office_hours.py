"""When officers answer (``office_hours.yml``): weekly hours plus public holidays, as data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from knowledge_base.parsing import read_yaml

HERE = Path(__file__).parent
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LOOKAHEAD_DAYS = 60  # longer than any run of holidays and weekends


class Holiday(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: dt.date
    name_th: str


class OfficeHours(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timezone: str
    description_th: str
    weekly: dict[str, tuple[dt.time, dt.time]]
    weekday_names_th: list[str] = Field(min_length=7, max_length=7)
    month_names_th: list[str] = Field(min_length=12, max_length=12)
    next_open_format: str
    date_format: str
    holidays: list[Holiday] = Field(default_factory=list)

    @field_validator("weekly")
    @classmethod
    def _known_days_and_ordered_hours(
        cls, value: dict[str, tuple[dt.time, dt.time]]
    ) -> dict[str, tuple[dt.time, dt.time]]:
        for day, (opens, closes) in value.items():
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r} (use {', '.join(WEEKDAYS)})")
            if opens >= closes:
                raise ValueError(f"{day}: opening time must be before closing time")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def holiday(self, day: dt.date) -> Holiday | None:
        return next((h for h in self.holidays if h.date == day), None)

    def hours_on(self, day: dt.date) -> tuple[dt.time, dt.time] | None:
        if self.holiday(day) is not None:
            return None
        return self.weekly.get(WEEKDAYS[day.weekday()])

    def is_open(self, at: dt.datetime) -> bool:
        local = at.astimezone(self.zone)
        hours = self.hours_on(local.date())
        return hours is not None and hours[0] <= local.time().replace(tzinfo=None) < hours[1]

    def next_open(self, at: dt.datetime) -> dt.datetime | None:
        """The next moment officers start answering at or after ``at`` (``None``: never, per the data)."""
        local = at.astimezone(self.zone)
        for offset in range(LOOKAHEAD_DAYS + 1):
            day = local.date() + dt.timedelta(days=offset)
            hours = self.hours_on(day)
            if hours is None:
                continue
            opens = dt.datetime.combine(day, hours[0], tzinfo=self.zone)
            closes = dt.datetime.combine(day, hours[1], tzinfo=self.zone)
            if local < closes:
                return max(opens, local)
        return None

    def describe(self, moment: dt.datetime) -> str:
        """A moment written the Thai way: weekday, day, month, Buddhist-era year, time."""
        local = moment.astimezone(self.zone)
        return self.next_open_format.format(
            weekday=self.weekday_names_th[local.weekday()],
            day=local.day,
            month=self.month_names_th[local.month - 1],
            year=local.year + 543,
            time=local.strftime("%H:%M"),
        )

    def describe_date(self, day: dt.date) -> str:
        return self.date_format.format(
            weekday=self.weekday_names_th[day.weekday()],
            day=day.day,
            month=self.month_names_th[day.month - 1],
            year=day.year + 543,
        )


def load_office_hours(root: Path = HERE) -> OfficeHours:
    return OfficeHours.model_validate(read_yaml(root / "office_hours.yml"))
