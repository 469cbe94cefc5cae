"""``GET /api/admin/kb/training``: the NLU retraining's state, for the knowledge-base editor.

Supervisors and administrators only (officers 403), like the rest of ``/api/admin/kb``. The state
is not per department: one model answers for all of them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel

from app.conversations.schemas import IsoTimestamp
from app.deps import ServicesDep
from app.nlu_training.status import Engine, TrainingState
from app.officers import access
from app.officers.auth import current_officer
from app.officers.models import Officer

router = APIRouter(prefix="/api/admin/kb", tags=["knowledge base"])


class TrainingProgress(BaseModel):
    """What the editor shows after an approval: "กำลังฝึกโมเดล…", "พร้อมใช้งาน" or "ฝึกไม่สำเร็จ: …"."""

    state: TrainingState
    engine: Engine
    model: str  # what the serving model was trained on: a digest (embedded) or a fingerprint (Rasa)
    started_at: IsoTimestamp | None
    finished_at: IsoTimestamp | None
    error: str | None
    pending_questions: bool  # approved question changes the serving model has not learnt yet


async def _supervisor_or_admin(officer: Annotated[Officer, Depends(current_officer)]) -> Officer:
    if not access.can_overrule(officer):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "supervisors and administrators only")
    return officer


@router.get("/training", dependencies=[Depends(_supervisor_or_admin)])
async def training_status(services: ServicesDep) -> TrainingProgress:
    return TrainingProgress.model_validate((await services.training.status()).as_json())
