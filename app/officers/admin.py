"""Administration: officer accounts and the audit log."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.db.transactions import Transactions
from app.officers import auth, repository
from app.officers.access import ALL_DEPARTMENTS
from app.officers.errors import Conflict, Invalid, NotFound
from app.officers.models import Officer, Role
from app.officers.passwords import hash_password
from app.officers.schemas import AuditEntry, OfficerAccount

MAX_AUDIT_RECORDS = 1000


def check_departments(departments: Sequence[str], known: Collection[str]) -> list[str]:
    """The departments, deduplicated; ``Invalid`` names any the knowledge base does not know."""
    unknown = [d for d in departments if d != ALL_DEPARTMENTS and d not in known]
    if unknown:
        raise Invalid(f"unknown department(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return list(dict.fromkeys(departments))


def officer_view(officer: Officer) -> OfficerAccount:
    return OfficerAccount(
        id=officer.id,
        username=officer.username,
        role=Role(officer.role),
        departments=list(officer.departments or []),
        active=officer.active,
        created_at=officer.created_at,
    )


async def create_officer(
    transactions: Transactions,
    *,
    username: str,
    password: str,
    departments: Sequence[str],
    role: Role,
    known_departments: Collection[str],
    actor_id: str | None = None,
) -> Officer:
    checked = check_departments(departments, known_departments)
    password_hash = await asyncio.to_thread(hash_password, password)

    def unit(session: Session) -> Officer:
        if repository.officer_by_username(session, username) is not None:
            raise Conflict(f"an officer named {username!r} already exists")
        officer = Officer(username=username, password_hash=password_hash, role=role, departments=checked)
        session.add(officer)
        session.flush()
        detail = {"username": username, "role": role.value, "departments": checked}
        repository.add_audit(session, actor_id, "officer_created", officer.id, detail)
        return officer

    try:
        return await transactions.run(unit)
    except IntegrityError as error:  # created concurrently under the same name
        raise Conflict(f"an officer named {username!r} already exists") from error


async def update_officer(
    transactions: Transactions,
    officer_id: str,
    *,
    actor_id: str,
    known_departments: Collection[str],
    password: str | None = None,
    departments: Sequence[str] | None = None,
    role: Role | None = None,
    active: bool | None = None,
) -> tuple[Officer, bool]:
    """The updated officer, and whether their tokens were revoked (any change but none)."""
    password_hash = await asyncio.to_thread(hash_password, password) if password else None

    def unit(session: Session) -> tuple[Officer, bool]:
        officer = session.get(Officer, officer_id)
        if officer is None:
            raise NotFound("no such officer")
        changed: dict[str, Any] = {}
        if departments is not None:
            checked = check_departments(departments, known_departments)
            if checked != list(officer.departments or []):
                officer.departments = changed["departments"] = checked
        if role is not None and role.value != officer.role:
            officer.role = changed["role"] = role.value
        if active is not None and active != officer.active:
            officer.active = changed["active"] = active
        if password_hash is not None:
            officer.password_hash = password_hash
            changed["password"] = "changed"
        if changed:
            # what the officer may do changed: tokens issued under the old rights stop working
            auth.revoke_tokens(officer)
        repository.add_audit(session, actor_id, "officer_updated", officer.id, changed)
        return officer, bool(changed)

    return await transactions.run(unit)


async def list_officers(session: AsyncSession) -> list[OfficerAccount]:
    return [officer_view(o) for o in await repository.list_officers(session)]


async def audit_log(
    session: AsyncSession,
    *,
    limit: int,
    action: str | None = None,
    officer_id: str | None = None,
    target: str | None = None,
) -> list[AuditEntry]:
    records = await repository.audit_records(
        session, limit=min(limit, MAX_AUDIT_RECORDS), action=action, officer_id=officer_id, target=target
    )
    names = await repository.usernames(session, {r.officer_id for r in records if r.officer_id})
    return [
        AuditEntry(
            id=r.id,
            officer_id=r.officer_id,
            username=names.get(r.officer_id or ""),
            action=r.action,
            target=r.target,
            detail=r.detail or {},
            created_at=r.created_at,
        )
        for r in records
    ]
