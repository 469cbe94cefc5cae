"""Insights for supervisors: what citizens asked, what the bot did, what it could not answer.

Only aggregates leave this module, plus one masked example per group of unanswered questions.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
from collections import Counter
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.conversations.policy import Action, EscalationReason
from app.db.schema import utcnow
from app.db.transactions import Transactions
from app.insights import repository
from app.insights.drafts import Draft, write_suggestion
from app.insights.grouping import group_questions
from app.insights.repository import DecidedMessage
from app.insights.schemas import InsightsReport
from app.logging import mask_pii
from app.officers.models import AuditRecord, Officer
from channels.base import Channel
from knowledge_base.loader import KnowledgeBase, KnowledgeBaseStore

AGENCY_ZONE = ZoneInfo("Asia/Bangkok")
MAX_UNANSWERED_GROUPS = 50
# An answer given with less confidence than the answer threshold plus this margin may have missed.
LOW_CONFIDENCE_MARGIN = 0.15
UNANSWERED_ESCALATIONS = frozenset({EscalationReason.LOW_CONFIDENCE, EscalationReason.REPEATED_FALLBACK})
RATED_ACTIONS = {
    "answered": Action.ANSWER,
    "clarified": Action.CLARIFY,
    "escalated": Action.ESCALATE,
    "fallback": Action.FALLBACK,
}


def is_unanswered(nlu: dict[str, Any]) -> bool:
    """The bot did not answer: a fallback, or an escalation because it was unsure (also after clarifying).

    An answer is never "unanswered", however low its confidence: a correctly answered
    "จดบริษัทยังงัยอ่ะ" is listed under ``uncertain_answers`` for a curator to check instead.
    """
    action = nlu.get("action")
    if action == Action.FALLBACK:
        return True
    if action == Action.ESCALATE:
        return nlu.get("reason") in UNANSWERED_ESCALATIONS
    return False


def is_uncertain_answer(nlu: dict[str, Any], low_confidence: float) -> bool:
    """Answered, but with a confidence close to the answer threshold: worth a curator's look."""
    confidence = nlu.get("confidence")
    return (
        nlu.get("action") == Action.ANSWER
        and isinstance(confidence, int | float)
        and confidence < low_confidence
    )


def best_guess(nlu: dict[str, Any], kb: KnowledgeBase) -> str | None:
    """The entry the NLU ranked first (else the one the decision names), if it still exists."""
    ranking = nlu.get("faq_ranking")
    names = [r.get("name") for r in ranking if isinstance(r, dict)] if isinstance(ranking, list) else []
    for name in [*names[:1], nlu.get("faq_id")]:
        if isinstance(name, str) and kb.entry(name) is not None:
            return name
    return None


def question_groups(
    messages: list[DecidedMessage], kb: KnowledgeBase, keep: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    questions = [(m.text, best_guess(m.nlu, kb)) for m in messages if keep(m.nlu)]
    groups = group_questions(questions)[:MAX_UNANSWERED_GROUPS]
    return [{"example": g.example, "count": g.count, "suggested_faq": g.best_guess} for g in groups]


def stale_entries(kb: KnowledgeBase, today: dt.date, stale_after_days: int) -> list[dict[str, Any]]:
    """Entries not reviewed for ``stale_after_days`` or past ``expires_at`` (never answered then)."""
    found = []
    for entry in kb.entries.values():
        age = (today - entry.reviewed_at).days
        reasons = (["stale"] if age > stale_after_days else []) + (
            ["expired"] if entry.is_expired(today) else []
        )
        if reasons:
            found.append(
                {
                    "faq_id": entry.id,
                    "title": entry.title,
                    "department": entry.department,
                    "reviewed_at": entry.reviewed_at.isoformat(),
                    "expires_at": entry.expires_at.isoformat() if entry.expires_at else None,
                    "days_since_review": age,
                    "reasons": reasons,
                }
            )
    return sorted(found, key=lambda e: (-len(e["reasons"]), -e["days_since_review"], e["faq_id"]))


def mask_tree(value: Any) -> Any:
    """Every string of a JSON-like value (keys too) with personal data masked."""
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, dict):
        return {mask_tree(k): mask_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_tree(v) for v in value]
    return value


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


async def build_insights(
    session: AsyncSession,
    kb: KnowledgeBase,
    *,
    days: int,
    answer_threshold: float,
    stale_after_days: int,
    now: dt.datetime,
) -> InsightsReport:
    """The ``GET /api/admin/insights`` body (INTERFACES.md) plus backward-compatible extras."""
    since = now - dt.timedelta(days=days)
    messages_in: dict[str, int] = dict.fromkeys(Channel, 0)
    messages_out: dict[str, int] = dict.fromkeys(Channel, 0)
    for channel, direction, count in await repository.message_counts(session, since):
        target = messages_in if direction == "in" else messages_out
        target[channel] = target.get(channel, 0) + count

    intents: Counter[str] = Counter()
    actions: Counter[str] = Counter()
    faq_hits: Counter[str] = Counter()
    for intent, action, faq_id, count in await repository.decision_counts(session, since):
        intents[intent] += count
        actions[action] += count
        # a postback's FAQ id is what the citizen's client sent: only the knowledge base's ids count
        if action == Action.ANSWER and faq_id and kb.entry(faq_id) is not None:
            faq_hits[faq_id] += count

    satisfaction = {str(score): 0 for score in range(1, 6)}
    for rating, count in await repository.rating_counts(session, since):
        if str(rating) in satisfaction:
            satisfaction[str(rating)] += count

    waits = await repository.first_reply_waits(session, since)
    candidates = await repository.unanswered_candidates(session, since)
    low_confidence = answer_threshold + LOW_CONFIDENCE_MARGIN
    # grouping segments Thai words and clusters: CPU work, kept off the event loop
    unanswered = await asyncio.to_thread(question_groups, candidates, kb, is_unanswered)
    uncertain = await asyncio.to_thread(
        question_groups, candidates, kb, lambda nlu: is_uncertain_answer(nlu, low_confidence)
    )
    decided = sum(actions.values())
    body: dict[str, Any] = {
        "days": days,
        "messages_in": messages_in,
        "messages_out": messages_out,
        "intents": dict(intents.most_common()),
        "faq_hits": dict(faq_hits.most_common()),
        "actions": dict(actions.most_common()),
        "satisfaction": satisfaction,
        "unanswered": unanswered,
        # extras (not in the contract's core): for the console page and curators
        "since": since.isoformat(),
        "until": now.isoformat(),
        "decisions": decided,
        "uncertain_answers": uncertain,
        "rates": {name: _rate(actions[action], decided) for name, action in RATED_ACTIONS.items()},
        "median_first_reply_minutes": round(statistics.median(waits) / 60, 1) if waits else None,
        "first_replies": len(waits),
        "stale_entries": stale_entries(kb, now.astimezone(AGENCY_ZONE).date(), stale_after_days),
    }
    return InsightsReport.model_validate(mask_tree(body))


async def suggest_question(
    kb_store: KnowledgeBaseStore,
    transactions: Transactions,
    officer: Officer,
    faq_id: str | None,
    question: str,
) -> Draft:
    """Draft ``question`` for entry ``faq_id`` (None: a new entry); audited when a draft is written."""
    draft = write_suggestion(
        kb_store.root,
        kb_store.current,
        faq_id,
        question,
        source=f"insights:{officer.username}",
        now=utcnow(),
    )
    if draft.created:
        detail = {"path": draft.relative_path, "faq_id": draft.faq_id}
        await transactions.run(
            lambda session: session.add(
                AuditRecord(officer_id=officer.id, action="kb_suggestion", target=None, detail=detail)
            )
        )
    return draft
