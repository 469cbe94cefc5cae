"""The open-data CSV: daily counts per channel, intent and FAQ entry, small counts suppressed.

No message text and no identifier ever reaches the file: only Bangkok dates, channel names,
intent names, FAQ ids and counts; a count below ``MIN_PUBLISHED_COUNT`` is written as ``<5`` so
that no single citizen's question can be singled out.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.insights import repository
from app.insights.repository import DailyAggregate
from app.logging import mask_pii

AGENCY_ZONE = ZoneInfo("Asia/Bangkok")
HEADER = ("date", "channel", "intent", "faq_id", "messages", "escalations")
MIN_PUBLISHED_COUNT = 5
SUPPRESSED = f"<{MIN_PUBLISHED_COUNT}"
MAX_DAYS = 366
BOM = "\ufeff"


class OpenDataRequestError(ValueError):
    """The requested period cannot be served; ``str(error)`` is the reason for the 400."""


def _parse_date(name: str, value: str | None) -> dt.date:
    if value is None or not value.strip():
        raise OpenDataRequestError(f"'{name}' is required (YYYY-MM-DD)")
    try:
        if len(value.strip()) != 10:
            raise ValueError(value)
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise OpenDataRequestError(f"'{name}' must be a date as YYYY-MM-DD, got {value[:20]!r}") from None


def parse_period(from_text: str | None, to_text: str | None) -> tuple[dt.date, dt.date]:
    """``from`` and ``to`` (inclusive) as Bangkok calendar dates; ``OpenDataRequestError`` if invalid."""
    start, end = _parse_date("from", from_text), _parse_date("to", to_text)
    if start > end:
        raise OpenDataRequestError(f"'from' ({start}) is after 'to' ({end})")
    if (end - start).days + 1 > MAX_DAYS:
        raise OpenDataRequestError(
            f"the period is {(end - start).days + 1} days; at most {MAX_DAYS} days per file"
        )
    return start, end


def period_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """``[start 00:00, end + 1 day 00:00)`` in Bangkok time, as UTC instants."""
    first = dt.datetime.combine(start, dt.time(), AGENCY_ZONE)
    after = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), AGENCY_ZONE)
    return first.astimezone(dt.UTC), after.astimezone(dt.UTC)


def published_count(count: int) -> str:
    return SUPPRESSED if count < MIN_PUBLISHED_COUNT else str(count)


def render_csv(rows: Iterable[DailyAggregate]) -> str:
    """UTF-8 text with a BOM (spreadsheet programs then read Thai correctly), the fixed header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(
            [
                row.date,
                mask_pii(row.channel),
                mask_pii(row.intent),
                mask_pii(row.faq_id),
                published_count(row.messages),
                published_count(row.escalations),
            ]
        )
    return BOM + buffer.getvalue()


async def build_open_data(session: AsyncSession, start: dt.date, end: dt.date) -> str:
    first, after = period_bounds(start, end)
    return render_csv(await repository.daily_aggregates(session, first, after))


def file_name(start: dt.date, end: dt.date) -> str:
    return f"govchat-opendata-{start.isoformat()}-{end.isoformat()}.csv"
