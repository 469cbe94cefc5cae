"""Writing a new version of an entry: the one place the published knowledge base changes.

A reviewed change, the first start's seed and an import all publish through ``publish_version``,
so each version row, the entry row and the audit record are written the same way, in the
caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.schema import utcnow
from app.kb import repository
from app.kb.models import KbEntry
from app.officers.repository import add_audit


@dataclass(frozen=True)
class Person:
    """Who wrote or approved a version: an officer, or a tool ("seed", "import") with no id."""

    username: str
    id: str | None = None


class StaleEntry(Exception):
    """The entry moved on since the change was drafted (or a new entry's id was taken meanwhile)."""


async def publish_version(
    session: AsyncSession,
    current: KbEntry | None,
    *,
    entry_id: str,
    department: str,
    status: str,
    fields: dict[str, Any],
    author: Person,
    approver: Person,
    change_id: str | None,
    base_version: int,
) -> int:
    """Write version ``base_version + 1``; raises ``StaleEntry`` when the entry is no longer at ``base_version``."""
    if current is None:
        if base_version != 0:
            raise StaleEntry(entry_id)
        position = await repository.next_position(session, department)
        repository.add_entry(session, entry_id, department, status, fields, position)
        try:
            await session.flush()
        except IntegrityError as error:  # the same new id, published a moment ago
            raise StaleEntry(entry_id) from error
    else:
        position = (
            current.position
            if current.department == department
            else await repository.next_position(session, department)
        )
        moved = await repository.advance_entry(
            session,
            entry_id,
            base_version,
            department=department,
            status=status,
            fields=fields,
            position=position,
        )
        if not moved:
            raise StaleEntry(entry_id)
    version = base_version + 1
    repository.add_version(
        session,
        entry_id=entry_id,
        version=version,
        status=status,
        fields=fields,
        author=author.username,
        author_id=author.id,
        approved_by=approver.username,
        approver_id=approver.id,
        at=utcnow(),
        change_id=change_id,
    )
    add_audit(
        session,
        approver.id,
        "kb_publish",
        entry_id,
        {"version": version, "status": status, "change_id": change_id, "author": author.username},
    )
    return version
