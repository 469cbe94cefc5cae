"""The insights API's bodies (INTERFACES.md, "Insights, open data and retention")."""

from __future__ import annotations

from pydantic import BaseModel, Field


class QuestionGroup(BaseModel):
    """Paraphrases of one question the bot could not answer (or answered unsure), masked."""

    example: str
    count: int
    suggested_faq: str | None  # the entry the NLU ranked first, if it still exists


class StaleEntry(BaseModel):
    faq_id: str
    title: str
    department: str
    reviewed_at: str  # a calendar date, YYYY-MM-DD
    expires_at: str | None
    days_since_review: int
    reasons: list[str]  # "stale" (not reviewed for too long), "expired" (past expires_at)


class InsightsReport(BaseModel):
    """The contract's keys (``days`` to ``unanswered``), then what the insights page adds."""

    days: int
    messages_in: dict[str, int]  # per channel
    messages_out: dict[str, int]
    intents: dict[str, int]
    faq_hits: dict[str, int]
    actions: dict[str, int]
    satisfaction: dict[str, int]  # "1" to "5"
    unanswered: list[QuestionGroup]
    since: str  # ISO timestamps of the period
    until: str
    decisions: int
    uncertain_answers: list[QuestionGroup]
    rates: dict[str, float]  # share of decisions answered, clarified, escalated, fallen back
    median_first_reply_minutes: float | None
    first_replies: int
    stale_entries: list[StaleEntry]


class SuggestionRequest(BaseModel):
    faq_id: str | None = Field(default=None, max_length=64)
    question: str = Field(min_length=1, max_length=2000)


class SuggestionDraft(BaseModel):
    """The draft a suggestion went into (``created`` false: the same draft was there already)."""

    path: str
    faq_id: str | None
    question: str
    created: bool
