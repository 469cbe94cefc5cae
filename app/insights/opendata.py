"""The open-data CSV: daily counts per channel, intent and FAQ entry, small counts suppressed.

No message text and no identifier ever reaches the file: only Bangkok dates, channel names,
intent names, FAQ ids and counts; a count below ``MIN_PUBLISHED_COUNT`` is written as ``<5`` so
that no single citizen's question can be singled out. Only values the contract or the knowledge
base defines are published: a decision's FAQ id comes from the NLU or from a button's postback
data, which the citizen's client sends, so an id the knowledge base does not hold is published as
no id (and an unknown intent or channel as none). No cell starts with a character that makes a
spreadsheet read it as a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Collection, Iterable
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.insights import repository
from app.insights.repository import DailyAggregate
from channels.base import Channel
from nlu.client import CORE_INTENTS, FALLBACK_INTENT, FAQ_INTENT

AGENCY_ZONE = ZoneInfo("Asia/Bangkok")
HEADER = ("date", "channel", "intent", "faq_id", "messages", "escalations")
MIN_PUBLISHED_COUNT = 5
SUPPRESSED = f"<{MIN_PUBLISHED_COUNT}"
MAX_DAYS = 366
BOM = "\ufeff"
# Open data starts well after this and a day after ``LAST_DATE`` is still a date (no overflow).
FIRST_DATE = dt.date(2000, 1, 1)
LAST_DATE = dt.date(9998, 12, 31)
KNOWN_CHANNELS = frozenset(c.value for c in Channel)
KNOWN_INTENTS = frozenset({FAQ_INTENT, FALLBACK_INTENT, *CORE_INTENTS})
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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
    for name, day in (("from", start), ("to", end)):
        if not FIRST_DATE <= day <= LAST_DATE:
            raise OpenDataRequestError(f"'{name}' must be between {FIRST_DATE} and {LAST_DATE}, got {day}")
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


def safe_cell(value: str) -> str:
    """A text cell no spreadsheet runs as a formula (OWASP's advice: a leading apostrophe)."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def published_rows(rows: Iterable[DailyAggregate], faq_ids: Collection[str]) -> list[DailyAggregate]:
    """``rows`` with every value the contract or the knowledge base did not define blanked, merged again."""
    merged: Counter[tuple[str, str, str, str]] = Counter()
    escalations: Counter[tuple[str, str, str, str]] = Counter()
    for row in rows:
        intent = row.intent if row.intent in KNOWN_INTENTS else ""
        key = (
            row.date,
            row.channel if row.channel in KNOWN_CHANNELS else "",
            intent,
            row.faq_id if intent == FAQ_INTENT and row.faq_id in faq_ids else "",
        )
        merged[key] += row.messages
        escalations[key] += row.escalations
    return [DailyAggregate(*key, merged[key], escalations[key]) for key in sorted(merged)]


def render_csv(rows: Iterable[DailyAggregate]) -> str:
    """UTF-8 text with a BOM (spreadsheet programs then read Thai correctly), the fixed header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(
            [
                safe_cell(str(row.date)),
                safe_cell(row.channel),
                safe_cell(row.intent),
                safe_cell(row.faq_id),
                published_count(row.messages),
                published_count(row.escalations),
            ]
        )
    return BOM + buffer.getvalue()


async def build_open_data(
    session: AsyncSession, start: dt.date, end: dt.date, faq_ids: Collection[str]
) -> str:
    first, after = period_bounds(start, end)
    return render_csv(published_rows(await repository.daily_aggregates(session, first, after), faq_ids))


def file_name(start: dt.date, end: dt.date) -> str:
    return f"govchat-opendata-{start.isoformat()}-{end.isoformat()}.csv"
