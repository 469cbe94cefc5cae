"""The API's JSON for entries, changes and versions (``kb-api.md``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.kb import repository
from app.kb.fields import CONTENT_FIELDS, STATUS, diff_fields
from app.kb.models import KbChange, KbEntry, KbEntryVersion


def entry_view(row: KbEntry, pending_changes: int) -> dict[str, Any]:
    fields = {name: row.fields.get(name) for name in CONTENT_FIELDS}
    return {
        "id": row.id,
        **fields,
        "department": row.department,
        "questions": list(fields.get("questions") or []),
        "related": list(fields.get("related") or []),
        "version": row.version,
        "status": row.status,
        "updated_at": row.updated_at.isoformat(),
        "pending_changes": pending_changes,
    }


def _person(officer_id: str | None, username: str | None) -> dict[str, Any] | None:
    if username is None:
        return None
    return {"id": officer_id, "username": username}


async def change_view(session: AsyncSession, change: KbChange) -> dict[str, Any]:
    """The change with its diff against the version its author started from."""
    before: dict[str, Any] = {}
    if not change.is_new_entry:
        base = await repository.get_version(session, change.entry_id, change.base_version)
        if base is not None:
            before = {**base.fields, STATUS: base.status}
    return {
        "change_id": change.id,
        "entry_id": change.entry_id,
        "department": change.department,
        "status": change.status,
        "author": _person(change.author_id, change.author_username),
        "created_at": change.created_at.isoformat(),
        "fields": change.fields,
        "diff": diff_fields(before, change.fields),
        "reviewed_by": _person(change.reviewer_id, change.reviewer_username),
        "reviewed_at": change.reviewed_at.isoformat() if change.reviewed_at else None,
        "note": change.note,
        "is_new_entry": change.is_new_entry,
        "base_version": change.base_version,
        "published_version": change.published_version,
    }


def history_view(versions: Sequence[KbEntryVersion]) -> list[dict[str, Any]]:
    """Oldest first; each version's diff against the one before (the first: against nothing)."""
    out = []
    before: dict[str, Any] = {}
    for row in versions:
        fields = {**row.fields, STATUS: row.status}
        out.append(
            {
                "version": row.version,
                "author": row.author,
                "approved_by": row.approved_by,
                "at": row.at.isoformat(),
                "fields": fields,
                "diff": diff_fields(before, fields),
                "change_id": row.change_id,
            }
        )
        before = fields
    return out
