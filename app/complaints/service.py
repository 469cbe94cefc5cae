"""Complaint rules: numbering, filing, and who may see a case."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.complaints import repository
from app.complaints.models import CaseStatus, ComplaintCase
from app.conversations.models import Conversation
from nlu.thai_text import normalize

NUMBER_ZONE = ZoneInfo("Asia/Bangkok")  # the year in a number is the Thai calendar year
BUDDHIST_ERA_OFFSET = 543
MAX_DESCRIPTION_CHARS = 2000
# Lenient on what citizens type: "cmp 2569 123", "CMP–2569–000123", Thai digits.
_NUMBER = re.compile(r"CMP\s*[-–—_/ ]?\s*(\d{4})\s*[-–—_/ ]?\s*(\d{1,7})(?!\d)", re.IGNORECASE)
# A PIN right after the number ("CMP-2569-000123 1234", "... PIN: 1234", "... รหัส 1234"), or alone.
_PIN_AFTER_NUMBER = re.compile(r"^\s*[,;:]?\s*(?:pin|รหัส)?\s*[:#]?\s*(\d{4})(?!\d)")
_PIN_ALONE = re.compile(r"^\s*(?:pin|รหัส)?\s*[:#]?\s*(\d{4})\s*$")


def buddhist_year(at: dt.datetime) -> int:
    return at.astimezone(NUMBER_ZONE).year + BUDDHIST_ERA_OFFSET


def format_number(year: int, sequence: int) -> str:
    return f"CMP-{year}-{sequence:06d}"


def find_number(text: str | None) -> str | None:
    """The case number a citizen's message mentions, normalised, or ``None``."""
    found = find_number_and_pin(text)
    return found[0] if found else None


def find_number_and_pin(text: str | None) -> tuple[str, str | None] | None:
    """The case number a message mentions and the PIN written right after it, if any."""
    if not text:
        return None
    normalised = normalize(text)  # Thai digits too
    match = _NUMBER.search(normalised)
    if match is None:
        return None
    pin = _PIN_AFTER_NUMBER.match(normalised[match.end() :])
    return format_number(int(match.group(1)), int(match.group(2))), pin.group(1) if pin else None


def parse_pin(text: str | None) -> str | None:
    """A message that is only a PIN ("1234", "PIN ๑๒๓๔")."""
    match = _PIN_ALONE.match(normalize(text or ""))
    return match.group(1) if match else None


def _pin_digest(key: str, number: str, pin: str) -> str:
    return hmac.new(key.encode(), f"case-pin:{number}:{pin}".encode(), hashlib.sha256).hexdigest()


def issue_pin(case: ComplaintCase, key: str) -> str:
    """A new 4-digit PIN for the case; only its keyed hash is kept. Shown once, to the filer."""
    pin = f"{secrets.randbelow(10_000):04d}"
    case.pin_hash = _pin_digest(key, case.number, pin)
    return pin


def complaints_topic(department: str) -> str:
    return f"complaints:{department}"


def case_event(kind: str, case: ComplaintCase) -> dict[str, Any]:
    """What consoles hear of a case (``complaint_filed`` or ``complaint_changed``); no personal data."""
    return {"type": kind, "number": case.number, "status": case.status, "department": case.department}


def file_complaint(
    session: Session, conversation: Conversation, description: str, department: str, now: dt.datetime
) -> ComplaintCase:
    year = buddhist_year(now)
    sequence = repository.next_sequence(session, year)
    case = ComplaintCase(
        number=format_number(year, sequence),
        year=year,
        sequence=sequence,
        citizen_id=conversation.citizen_id,
        conversation_id=conversation.id,
        channel=conversation.channel,
        department=department,
        description=description[:MAX_DESCRIPTION_CHARS],
        status=CaseStatus.RECEIVED,
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    return case


def case_for_citizen(session: Session, number: str, citizen_id: str) -> ComplaintCase | None:
    """The case, only for the citizen (channel identity) who filed it; anyone else gets ``None``."""
    case = repository.find_by_number(session, number)
    if case is None or case.citizen_id != citizen_id:
        return None
    return case


def case_with_pin(session: Session, number: str, pin: str, key: str) -> ComplaintCase | None:
    """The case, for anyone who has its PIN; ``None`` for an unknown number or a wrong PIN alike."""
    case = repository.find_by_number(session, number)
    if case is None or case.pin_hash is None:
        return None
    return case if hmac.compare_digest(case.pin_hash, _pin_digest(key, case.number, pin)) else None


def open_cases_of_conversation(session: Session, conversation_id: str) -> Sequence[ComplaintCase]:
    return repository.open_cases_of_conversation(session, conversation_id)


async def cases_of_conversation(session: AsyncSession, conversation_id: str) -> Sequence[ComplaintCase]:
    return await repository.cases_of_conversation(session, conversation_id)


def set_status(case: ComplaintCase, status: CaseStatus, now: dt.datetime) -> None:
    case.status = status
    case.updated_at = now
    case.closed_at = now if status == CaseStatus.CLOSED else None


def filed_on(case: ComplaintCase) -> dt.date:
    return case.created_at.astimezone(NUMBER_ZONE).date()
