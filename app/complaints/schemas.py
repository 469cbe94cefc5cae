"""The complaint-case API's bodies (INTERFACES.md, "Officer inbox and complaint cases")."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from app.complaints.models import CaseStatus

MAX_NOTE_CODE_POINTS = 2000
SUMMARY_CODE_POINTS = 120


class ComplaintSummary(BaseModel):
    number: str
    department: str
    channel: str
    status: CaseStatus
    summary: str  # the start of the citizen's description
    created_at: dt.datetime
    updated_at: dt.datetime
    conversation_id: str


class ComplaintList(BaseModel):
    complaints: list[ComplaintSummary]


class Notice(BaseModel):
    """How the citizen was told (an extension of the contract, for the officer's case view).

    ``state``: ``pending``/``sent``/``failed`` (the outbox message's delivery), or ``held``
    with ``reason`` when the channel's rules do not allow the message before the citizen writes.
    """

    state: Literal["pending", "sent", "failed", "held"]
    reason: str | None = None


class HistoryEntry(BaseModel):
    status: CaseStatus
    note: str
    by: str  # the officer's username; "citizen" for the filing
    at: dt.datetime
    notice: Notice | None = None  # None for the filing


class ComplaintDetail(ComplaintSummary):
    description: str
    history: list[HistoryEntry]


class StatusChange(BaseModel):
    status: CaseStatus
    note: str = Field(default="", max_length=MAX_NOTE_CODE_POINTS)  # max_length counts code points

    @model_validator(mode="after")
    def _closing_needs_a_note(self) -> StatusChange:
        self.note = self.note.strip()
        if self.status == CaseStatus.CLOSED and not self.note:
            raise ValueError("closing a case needs a note for the citizen")
        return self
