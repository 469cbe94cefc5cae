"""Admin API: the audit log and officer accounts (administrators only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status

from app.deps import ServicesDep, SessionDep
from app.officers import access, admin, auth
from app.officers.auth import current_officer
from app.officers.errors import as_http
from app.officers.models import Officer
from app.officers.schemas import AuditLog, OfficerAccount, OfficerAccounts, OfficerCreate, OfficerUpdate

router = APIRouter(prefix="/api/admin", tags=["admin"])


async def current_admin(officer: Annotated[Officer, Depends(current_officer)]) -> Officer:
    if not access.is_admin(officer):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "administrators only")
    return officer


CurrentAdmin = Annotated[Officer, Depends(current_admin)]


@router.get("/audit")
async def audit(
    officer: CurrentAdmin,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=admin.MAX_AUDIT_RECORDS)] = 200,
    action: str | None = None,
    officer_id: str | None = None,
    target: str | None = None,
) -> AuditLog:
    """Officer actions, newest first."""
    records = await admin.audit_log(session, limit=limit, action=action, officer_id=officer_id, target=target)
    return AuditLog(records=records)


@router.get("/officers")
async def officers(officer: CurrentAdmin, session: SessionDep) -> OfficerAccounts:
    return OfficerAccounts(officers=await admin.list_officers(session))


@router.post("/officers", status_code=status.HTTP_201_CREATED)
async def create_officer(body: OfficerCreate, officer: CurrentAdmin, services: ServicesDep) -> OfficerAccount:
    with as_http():
        created = await admin.create_officer(
            services.transactions,
            username=body.username,
            password=body.password,
            departments=body.departments,
            role=body.role,
            known_departments=services.kb.store.current.departments,
            actor_id=officer.id,
        )
    return admin.officer_view(created)


@router.patch("/officers/{officer_id}")
async def update_officer(
    officer_id: str, body: OfficerUpdate, officer: CurrentAdmin, services: ServicesDep
) -> OfficerAccount:
    with as_http():
        updated, revoked = await admin.update_officer(
            services.transactions,
            officer_id,
            actor_id=officer.id,
            known_departments=services.kb.store.current.departments,
            password=body.password,
            departments=body.departments,
            role=body.role,
            active=body.active,
        )
    if revoked:  # open console sockets close at once rather than at their next event
        await auth.announce_revocation(services.bus, updated.id)
    return admin.officer_view(updated)
