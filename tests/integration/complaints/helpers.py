"""Complaint cases set up directly (the bot's filing flow has its own tests) and read back."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.complaints import service as complaints
from app.complaints.history import ComplaintUpdate
from app.complaints.models import ComplaintCase
from app.conversations.models import Conversation
from app.db.schema import utcnow
from app.officers.models import AuditRecord
from app.services import Services


async def file_case(
    services: Services,
    conversation_id: str,
    description: str,
    department: str = "complaints",
    at: dt.datetime | None = None,
) -> str:
    async with services.sessionmaker() as session, session.begin():
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        case = await session.run_sync(
            complaints.file_complaint, conversation, description, department, at or utcnow()
        )
        return case.number


async def updates_of(services: Services, number: str) -> list[ComplaintUpdate]:
    async with services.sessionmaker() as session:
        case = await session.scalar(select(ComplaintCase).where(ComplaintCase.number == number))
        assert case is not None
        rows = await session.scalars(
            select(ComplaintUpdate).where(ComplaintUpdate.case_id == case.id).order_by(ComplaintUpdate.at)
        )
        return list(rows.all())


async def audit_of(services: Services, number: str) -> list[AuditRecord]:
    async with services.sessionmaker() as session:
        rows = await session.scalars(
            select(AuditRecord).where(AuditRecord.target == number).order_by(AuditRecord.created_at)
        )
        return list(rows.all())


def status_url(number: str) -> str:
    return f"/api/officer/complaints/{number}/status"
