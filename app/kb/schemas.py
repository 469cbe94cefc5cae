"""Response bodies of the knowledge-base authoring API (INTERFACES.md "Knowledge-base authoring", ``kb-api.md``).

Fields are declared in the order the console has always received them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel

from app.conversations.schemas import IsoTimestamp
from app.kb.models import ChangeStatus, EntryStatus


class KbEntryDetail(BaseModel):
    """An entry as citizens are answered from it (``knowledge_base.schema.FaqEntry``) and its authoring state."""

    id: str
    department: str
    title: str
    answer: str
    title_en: str | None
    answer_en: str | None
    detail: str | None
    source_url: str
    reviewed_at: dt.date
    expires_at: dt.date | None
    related: list[str]  # ids of other entries
    questions: list[str]
    version: int
    status: EntryStatus
    updated_at: IsoTimestamp
    pending_changes: int  # changes of this entry waiting for review


class KbEntries(BaseModel):
    entries: list[KbEntryDetail]


class FieldDiff(BaseModel):
    """One field a change or version sets, with its value before and after (any JSON value; null when unset)."""

    field: str
    before: Any
    after: Any


class Reviewer(BaseModel):
    id: str | None  # null once the officer's account is gone
    username: str


class KbChangeDetail(BaseModel):
    change_id: str
    entry_id: str
    department: str
    status: ChangeStatus
    author: Reviewer | None
    created_at: IsoTimestamp
    fields: dict[str, Any]  # only the fields the change sets, in the entry's JSON form
    diff: list[FieldDiff]  # against the version the author started from
    reviewed_by: Reviewer | None
    reviewed_at: IsoTimestamp | None
    note: str | None  # why it was sent back
    is_new_entry: bool
    base_version: int  # the entry's version the author started from (0: a new entry)
    published_version: int | None


class KbChanges(BaseModel):
    changes: list[KbChangeDetail]


class ChangeSubmitted(BaseModel):
    change_id: str
    status: ChangeStatus


class ChangePublished(BaseModel):
    change_id: str
    status: ChangeStatus
    version: int | None  # the entry's version this change became
    entry: KbEntryDetail


class ChangeRejected(BaseModel):
    change_id: str
    status: ChangeStatus
    note: str | None


class EntryVersion(BaseModel):
    version: int
    author: str  # a username, "seed" or "import"
    approved_by: str
    at: IsoTimestamp
    fields: dict[str, Any]  # the whole entry as published, with its status
    diff: list[FieldDiff]  # against the version before (the first: against nothing)
    change_id: str | None


class EntryHistory(BaseModel):
    versions: list[EntryVersion]  # oldest first


class DraftProblem(BaseModel):
    field: str
    msg: str  # Thai, for the editor


class NearDuplicate(BaseModel):
    """A question of the draft that another entry already answers."""

    question: str
    entry_id: str
    title: str


class DraftCheck(BaseModel):
    problems: list[DraftProblem]
    near_duplicates: list[NearDuplicate]


class InvalidField(BaseModel):
    """Why a change was refused, beside the field it is about."""

    loc: list[str]  # ["body", "fields", FIELD], or ["body", "entry_id"]
    field: str
    msg: str  # Thai
    type: Literal["kb_invalid"]


class InvalidChange(BaseModel):
    """The 422 of ``POST /changes`` for a change ``kb validate`` would refuse."""

    detail: list[InvalidField]
