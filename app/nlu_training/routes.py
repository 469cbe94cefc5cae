"""``GET /api/admin/kb/training``: the NLU retraining's state, for the knowledge-base editor.

Supervisors and administrators only (officers 403), like the rest of ``/api/admin/kb``. The state
is not per department: one model answers for all of them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status

from app.deps import ServicesDep
from app.officers import access
from app.officers.auth import current_officer
from app.officers.models import Officer

router = APIRouter(prefix="/api/admin/kb", tags=["knowledge base"])


async def _supervisor_or_admin(officer: Annotated[Officer, Depends(current_officer)]) -> Officer:
    if not access.can_overrule(officer):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "supervisors and administrators only")
    return officer


@router.get("/training", dependencies=[Depends(_supervisor_or_admin)])
async def training_status(services: ServicesDep) -> dict[str, Any]:
    return (await services.training.status()).as_json()
