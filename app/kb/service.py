"""Knowledge-base authoring rules: who sees which entries, drafting, a second person's review, history."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.schema import utcnow
from app.kb import repository, views
from app.kb.fields import CheckedDraft, FieldProblem, Rules, check_draft, entry_of, fields_of
from app.kb.live import DatabaseKnowledgeBase
from app.kb.models import ChangeStatus, EntryStatus, KbChange, KbEntry
from app.kb.publishing import Person, StaleEntry, publish_version
from app.kb.schemas import EntryVersion, KbChangeDetail, KbEntryDetail
from app.officers.access import department_scope
from app.officers.models import Officer
from app.officers.repository import add_audit

log = logging.getLogger(__name__)
STALE_REASON = "รายการนี้ถูกแก้ไขไปแล้วหลังจากสร้างร่างนี้ จึงอนุมัติไม่ได้ กรุณาสร้างร่างใหม่จากฉบับล่าสุด"
ALREADY_REVIEWED = "ร่างนี้ได้รับการพิจารณาไปแล้ว"
SELF_APPROVAL = "ผู้เขียนร่างอนุมัติร่างของตนเองไม่ได้ ต้องให้หัวหน้างานหรือผู้ดูแลระบบคนอื่นอนุมัติ"
EXPIRING_WITHIN_DAYS = 30


class KbNotFound(Exception):
    """Absent, or of a department the officer does not work for (the same answer: existence is not revealed)."""


class KbConflict(Exception):
    """The request cannot be done in the entry's or the change's present state; the message says why, in Thai."""


class KbInvalid(Exception):
    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("invalid knowledge-base change")
        self.problems = problems


@dataclass(frozen=True)
class EntryFilter:
    q: str | None = None
    department: str | None = None
    stale: bool = False
    expiring: bool = False
    stale_after_days: int = 365


def _in_scope(officer: Officer, department: str) -> bool:
    scope = department_scope(officer)
    return scope is None or department in scope


def _matches(entry: KbEntry, wanted: EntryFilter, today: dt.date) -> bool:
    fields = entry.fields
    if wanted.department and entry.department != wanted.department:
        return False
    if wanted.q:
        needle = wanted.q.casefold()
        texts = [
            entry.id,
            fields.get("title") or "",
            fields.get("answer") or "",
            *(fields.get("questions") or []),
        ]
        if not any(needle in text.casefold() for text in texts):
            return False
    if wanted.stale:
        reviewed = dt.date.fromisoformat(fields["reviewed_at"])
        if (today - reviewed).days <= wanted.stale_after_days:
            return False
    if wanted.expiring:
        expires = fields.get("expires_at")
        if expires is None or (dt.date.fromisoformat(expires) - today).days > EXPIRING_WITHIN_DAYS:
            return False
    return True


async def list_entries(
    session: AsyncSession, officer: Officer, wanted: EntryFilter, today: dt.date
) -> list[KbEntryDetail]:
    scope = department_scope(officer)
    rows = await repository.all_entries(session, scope)
    pending = await repository.pending_counts(session)
    return [views.entry_view(row, pending.get(row.id, 0)) for row in rows if _matches(row, wanted, today)]


async def visible_entry(session: AsyncSession, officer: Officer, entry_id: str) -> KbEntry:
    row = await repository.get_entry(session, entry_id)
    if row is None or not _in_scope(officer, row.department):
        raise KbNotFound(entry_id)
    return row


async def entry_detail(session: AsyncSession, officer: Officer, entry_id: str) -> KbEntryDetail:
    row = await visible_entry(session, officer, entry_id)
    pending = await repository.pending_counts(session)
    return views.entry_view(row, pending.get(row.id, 0))


async def _rules(session: AsyncSession, kb: DatabaseKnowledgeBase) -> Rules:
    """The entries in service as the database has them now (not as this process last loaded them)."""
    rows = await repository.published_entries(session)
    return Rules(
        published={row.id: entry_of(row.id, row.fields) for row in rows},
        departments=kb.departments.departments,
        required_ids=kb.departments.required_ids,
    )


async def check_change(
    session: AsyncSession,
    kb: DatabaseKnowledgeBase,
    officer: Officer,
    entry_id: str,
    department: str,
    fields: Mapping[str, Any],
) -> tuple[KbEntry | None, CheckedDraft]:
    """The draft checked as it would be published; ``KbNotFound`` for an entry the officer may not touch."""
    current = await repository.get_entry(session, entry_id)
    if current is not None and not _in_scope(officer, current.department):
        raise KbNotFound(entry_id)
    target = str(fields.get("department") or (current.department if current else department))
    if not _in_scope(officer, department) or not _in_scope(officer, target):
        raise KbNotFound(entry_id)
    if current is not None and current.department != department:
        owner = kb.departments.departments.get(current.department)
        name = owner.name_th if owner else current.department
        problem = FieldProblem("department", f"รายการนี้อยู่ใน{name} (ย้ายฝ่ายด้วยช่องฝ่ายในร่าง)")
        raise KbInvalid([problem])
    base_fields = current.fields if current else {"department": department}
    draft = check_draft(
        entry_id, base_fields, current.status if current else None, fields, await _rules(session, kb)
    )
    return current, draft


async def create_change(
    sessionmaker: async_sessionmaker[AsyncSession],
    kb: DatabaseKnowledgeBase,
    officer: Officer,
    entry_id: str,
    department: str,
    fields: Mapping[str, Any],
) -> KbChange:
    async with sessionmaker() as session, session.begin():
        current, draft = await check_change(session, kb, officer, entry_id, department, fields)
        if draft.problems:
            raise KbInvalid(draft.problems)
        if not draft.fields:
            raise KbInvalid([FieldProblem("fields", "ไม่มีการเปลี่ยนแปลง")])
        change = KbChange(
            entry_id=entry_id,
            department=current.department if current else department,
            status=ChangeStatus.PENDING_REVIEW,
            is_new_entry=current is None,
            base_version=current.version if current else 0,
            fields=draft.fields if current else {"department": department, **draft.fields},
            author_id=officer.id,
            author_username=officer.username,
            created_at=utcnow(),
        )
        session.add(change)
        await session.flush()
        add_audit(session, officer.id, "kb_change_create", entry_id, {"change_id": change.id})
    return change


async def visible_change(session: AsyncSession, officer: Officer, change_id: str) -> KbChange:
    change = await repository.get_change(session, change_id)
    if change is None or not _in_scope(officer, change.department):
        raise KbNotFound(change_id)
    if "department" in change.fields and not _in_scope(officer, str(change.fields["department"])):
        raise KbNotFound(change_id)
    return change


async def approve_change(
    sessionmaker: async_sessionmaker[AsyncSession],
    kb: DatabaseKnowledgeBase,
    officer: Officer,
    change_id: str,
) -> tuple[KbChange, KbEntryDetail]:
    """Publish the change in one transaction, then tell every process; the author may not approve it."""
    async with sessionmaker() as session, session.begin():
        change = await visible_change(session, officer, change_id)
        _ensure_pending(change)
        if change.author_id == officer.id:
            raise KbConflict(SELF_APPROVAL)
        current = await repository.get_entry(session, change.entry_id)
        if _moved_on(change, current):
            raise KbConflict(STALE_REASON)
        base_fields = current.fields if current else {}
        draft = check_draft(
            change.entry_id,
            base_fields,
            current.status if current else None,
            change.fields,
            await _rules(session, kb),
        )
        if draft.entry is None:
            reasons = "; ".join(problem.msg for problem in draft.problems)
            raise KbConflict(f"ร่างนี้ไม่ผ่านการตรวจกับฐานความรู้ปัจจุบันแล้ว: {reasons}")
        before_questions = (current.fields.get("questions") if current else None) or []
        try:
            version = await publish_version(
                session,
                current,
                entry_id=change.entry_id,
                department=draft.entry.department,
                status=draft.status,
                fields=fields_of(draft.entry),
                author=Person(change.author_username, change.author_id),
                approver=Person(officer.username, officer.id),
                change_id=change.id,
                base_version=change.base_version,
            )
        except StaleEntry as error:
            raise KbConflict(STALE_REASON) from error
        if not await repository.close_change(
            session,
            change.id,
            ChangeStatus.PUBLISHED,
            reviewer_id=officer.id,
            reviewer_username=officer.username,
            published_version=version,
        ):
            raise KbConflict(ALREADY_REVIEWED)
        add_audit(
            session,
            officer.id,
            "kb_change_approve",
            change.entry_id,
            {"change_id": change.id, "version": version},
        )
    questions_changed = draft.status == EntryStatus.RETIRED or before_questions != draft.entry.questions
    await kb.announce(
        change.entry_id, questions_changed or (current is not None and current.status != draft.status)
    )
    async with sessionmaker() as session:
        published = await repository.get_entry(session, change.entry_id)
        refreshed = await repository.get_change(session, change.id)
        pending = await repository.pending_counts(session)
    assert published is not None and refreshed is not None
    return refreshed, views.entry_view(published, pending.get(published.id, 0))


def _ensure_pending(change: KbChange) -> None:
    if change.status != ChangeStatus.PENDING_REVIEW:
        raise KbConflict(ALREADY_REVIEWED)


def _moved_on(change: KbChange, current: KbEntry | None) -> bool:
    if change.is_new_entry:
        return current is not None
    return current is None or current.version != change.base_version


async def reject_change(
    sessionmaker: async_sessionmaker[AsyncSession], officer: Officer, change_id: str, note: str
) -> KbChange:
    async with sessionmaker() as session, session.begin():
        change = await visible_change(session, officer, change_id)
        _ensure_pending(change)
        closed = await repository.close_change(
            session,
            change.id,
            ChangeStatus.REJECTED,
            reviewer_id=officer.id,
            reviewer_username=officer.username,
            note=note,
        )
        if not closed:
            raise KbConflict(ALREADY_REVIEWED)
        add_audit(session, officer.id, "kb_change_reject", change.entry_id, {"change_id": change.id})
    async with sessionmaker() as session:
        refreshed = await repository.get_change(session, change_id)
    assert refreshed is not None
    return refreshed


async def list_changes(
    session: AsyncSession, officer: Officer, status: str | None, entry_id: str | None
) -> list[KbChangeDetail]:
    rows = await repository.list_changes(session, department_scope(officer), status, entry_id)
    return [await views.change_view(session, row) for row in rows if _change_visible(officer, row)]


def _change_visible(officer: Officer, change: KbChange) -> bool:
    target = change.fields.get("department")
    return target is None or _in_scope(officer, str(target))


async def history(session: AsyncSession, officer: Officer, entry_id: str) -> list[EntryVersion]:
    await visible_entry(session, officer, entry_id)
    return views.history_view(await repository.versions_of(session, entry_id))
