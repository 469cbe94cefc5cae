"""SQL for insights and open data: aggregates over messages and escalations. No rules here.

The decision the bot took on a citizen's message is the ``nlu`` JSON of that inbound message
(``{"intent", "confidence", "faq_id", "action", "reason"?, "faq_ranking"?}``); the JSON paths below
compile to ``JSON_EXTRACT`` on SQLite and ``->>`` on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Date, Integer, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.conversations.models import Conversation, Message, Sender
from app.conversations.models import Escalation as EscalationRow
from nlu.client import FAQ_INTENT

AGENCY_TIME_ZONE = "Asia/Bangkok"
BANGKOK_OFFSET = "+7 hours"  # Asia/Bangkok has kept UTC+7, without daylight saving, since 1920
MAX_UNANSWERED_ROWS = 20_000

INTENT = Message.nlu["intent"].as_string()
ACTION = Message.nlu["action"].as_string()
FAQ_ID = Message.nlu["faq_id"].as_string()


def _citizen_decisions(since: dt.datetime, until: dt.datetime | None = None) -> list[ColumnElement[bool]]:
    """Inbound citizen messages the bot decided on (they carry an ``nlu`` record) in the window."""
    conditions = [
        Message.direction == "in",
        Message.sender == Sender.CITIZEN,
        Message.created_at >= since,
        INTENT.is_not(None),
    ]
    if until is not None:
        conditions.append(Message.created_at < until)
    return conditions


async def message_counts(session: AsyncSession, since: dt.datetime) -> list[tuple[str, str, int]]:
    """``(channel, direction, messages)`` since ``since``."""
    rows = await session.execute(
        select(Conversation.channel, Message.direction, func.count(Message.id))
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.created_at >= since)
        .group_by(Conversation.channel, Message.direction)
    )
    return [(str(channel), str(direction), int(count)) for channel, direction, count in rows.all()]


async def decision_counts(
    session: AsyncSession, since: dt.datetime
) -> list[tuple[str, str, str | None, int]]:
    """``(intent, action, faq_id, messages)`` of the bot's decisions since ``since``."""
    rows = await session.execute(
        select(INTENT, ACTION, FAQ_ID, func.count(Message.id))
        .where(*_citizen_decisions(since))
        .group_by(INTENT, ACTION, FAQ_ID)
    )
    return [(str(i), str(a), f if f is None else str(f), int(n)) for i, a, f, n in rows.all()]


async def rating_counts(session: AsyncSession, since: dt.datetime) -> list[tuple[int, int]]:
    """``(rating, escalations)`` of escalations rated and resolved (or opened) since ``since``."""
    when = func.coalesce(EscalationRow.resolved_at, EscalationRow.created_at)
    rows = await session.execute(
        select(EscalationRow.rating, func.count(EscalationRow.id))
        .where(EscalationRow.rating.is_not(None), when >= since)
        .group_by(EscalationRow.rating)
    )
    return [(int(rating), int(count)) for rating, count in rows.all() if rating is not None]


async def first_reply_waits(session: AsyncSession, since: dt.datetime) -> list[float]:
    """Seconds from escalation to an officer's first reply, for escalations opened since ``since``."""
    rows = await session.execute(
        select(EscalationRow.created_at, EscalationRow.first_reply_at).where(
            EscalationRow.created_at >= since, EscalationRow.first_reply_at.is_not(None)
        )
    )
    return [(replied - created).total_seconds() for created, replied in rows.all() if replied is not None]


@dataclass(frozen=True)
class DecidedMessage:
    text: str
    nlu: dict[str, Any]


async def unanswered_candidates(session: AsyncSession, since: dt.datetime) -> list[DecidedMessage]:
    """Citizen texts whose decision may mean "not answered" (the service applies the rule)."""
    rows = await session.execute(
        select(Message.text, Message.nlu)
        .where(
            *_citizen_decisions(since),
            Message.text.is_not(None),
            ACTION.in_(("fallback", "escalate", "answer")),
        )
        .order_by(Message.id.desc())
        .limit(MAX_UNANSWERED_ROWS)
    )
    return [
        DecidedMessage(str(text), dict(nlu)) for text, nlu in rows.all() if text and isinstance(nlu, dict)
    ]


def _bangkok_date(session: AsyncSession) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(AGENCY_TIME_ZONE, Message.created_at), Date)
    return func.date(Message.created_at, BANGKOK_OFFSET)


@dataclass(frozen=True)
class DailyAggregate:
    date: str  # YYYY-MM-DD, Asia/Bangkok
    channel: str
    intent: str
    faq_id: str
    messages: int
    escalations: int


async def daily_aggregates(
    session: AsyncSession, start: dt.datetime, end: dt.datetime
) -> list[DailyAggregate]:
    """Citizen messages per Bangkok day, channel, intent and FAQ entry in ``[start, end)``."""
    day = _bangkok_date(session)
    escalated = func.sum(cast(ACTION == "escalate", Integer))
    rows = await session.execute(
        select(day, Conversation.channel, INTENT, ACTION, FAQ_ID, func.count(Message.id), escalated)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Message.direction == "in",
            Message.sender == Sender.CITIZEN,
            Message.created_at >= start,
            Message.created_at < end,
        )
        .group_by(day, Conversation.channel, INTENT, ACTION, FAQ_ID)
    )
    merged: dict[tuple[str, str, str, str], list[int]] = {}
    for date, channel, intent, _action, faq_id, count, escalations in rows.all():
        # an FAQ id is the entry answered or offered; other intents carry only a routing guess
        key = (str(date), str(channel), intent or "", (faq_id or "") if intent == FAQ_INTENT else "")
        totals = merged.setdefault(key, [0, 0])
        totals[0] += int(count)
        totals[1] += int(escalations or 0)
    return [
        DailyAggregate(date, channel, intent, faq_id, totals[0], totals[1])
        for (date, channel, intent, faq_id), totals in sorted(merged.items())
    ]
