"""The API's JSON for entries, changes and versions (``kb-api.md``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.kb import repository
from app.kb.fields import STATUS, diff_fields
from app.kb.models import ChangeStatus, EntryStatus, KbChange, KbEntry, KbEntryVersion
from app.kb.schemas import EntryVersion, FieldDiff, KbChangeDetail, KbEntryDetail, Reviewer


def entry_view(row: KbEntry, pending_changes: int) -> KbEntryDetail:
    fields = row.fields
    return KbEntryDetail(
        id=row.id,
        department=row.department,
        title=fields.get("title"),
        answer=fields.get("answer"),
        title_en=fields.get("title_en"),
        answer_en=fields.get("answer_en"),
        detail=fields.get("detail"),
        source_url=fields.get("source_url"),
        reviewed_at=fields.get("reviewed_at"),
        expires_at=fields.get("expires_at"),
        related=list(fields.get("related") or []),
        questions=list(fields.get("questions") or []),
        version=row.version,
        status=EntryStatus(row.status),
        updated_at=row.updated_at,
        pending_changes=pending_changes,
    )


def _person(officer_id: str | None, username: str | None) -> Reviewer | None:
    if username is None:
        return None
    return Reviewer(id=officer_id, username=username)


def _diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[FieldDiff]:
    return [FieldDiff.model_validate(item) for item in diff_fields(before, after)]


async def change_view(session: AsyncSession, change: KbChange) -> KbChangeDetail:
    """The change with its diff against the version its author started from."""
    before: dict[str, Any] = {}
    if not change.is_new_entry:
        base = await repository.get_version(session, change.entry_id, change.base_version)
        if base is not None:
            before = {**base.fields, STATUS: base.status}
    return KbChangeDetail(
        change_id=change.id,
        entry_id=change.entry_id,
        department=change.department,
        status=ChangeStatus(change.status),
        author=_person(change.author_id, change.author_username),
        created_at=change.created_at,
        fields=change.fields,
        diff=_diff(before, change.fields),
        reviewed_by=_person(change.reviewer_id, change.reviewer_username),
        reviewed_at=change.reviewed_at,
        note=change.note,
        is_new_entry=change.is_new_entry,
        base_version=change.base_version,
        published_version=change.published_version,
    )


def history_view(versions: Sequence[KbEntryVersion]) -> list[EntryVersion]:
    """Oldest first; each version's diff against the one before (the first: against nothing)."""
    out = []
    before: dict[str, Any] = {}
    for row in versions:
        fields = {**row.fields, STATUS: row.status}
        out.append(
            EntryVersion(
                version=row.version,
                author=row.author,
                approved_by=row.approved_by,
                at=row.at,
                fields=fields,
                diff=_diff(before, fields),
                change_id=row.change_id,
            )
        )
        before = fields
    return out
