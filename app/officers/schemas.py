"""Request and response bodies of the officer and admin APIs (INTERFACES.md, "Officer API")."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from app.complaints.models import CaseStatus
from app.conversations.models import ConversationState, DeliveryStatus, Sender
from app.conversations.schemas import IsoTimestamp
from app.officers.models import Role
from channels.base import Channel

MAX_TEXT_CODE_POINTS = 2000


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("text is empty")
    if len(value) > MAX_TEXT_CODE_POINTS:  # str length counts code points
        raise ValueError(f"text is longer than {MAX_TEXT_CODE_POINTS} characters")
    return value


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class TokenResponse(BaseModel):
    token: str


class ReplyRequest(BaseModel):
    text: str

    _check = field_validator("text")(_text)


class MessageAccepted(BaseModel):
    message_id: str


class NoteRequest(BaseModel):
    text: str

    _check = field_validator("text")(_text)


class TransferRequest(BaseModel):
    department: str = Field(min_length=1, max_length=64)
    note: str | None = Field(default=None, max_length=MAX_TEXT_CODE_POINTS)


class AssignRequest(BaseModel):
    officer_id: str | None


class OfficerCreate(BaseModel):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=1024)
    departments: list[str] = Field(min_length=1)
    role: Role = Role.OFFICER


class OfficerUpdate(BaseModel):
    password: str | None = Field(default=None, min_length=8, max_length=1024)
    departments: list[str] | None = Field(default=None, min_length=1)
    role: Role | None = None
    active: bool | None = None


# ---- responses --------------------------------------------------------------------------------
class OfficerProfile(BaseModel):
    id: str
    username: str
    role: Role
    departments: list[str]
    can_overrule: bool
    is_admin: bool


class Department(BaseModel):
    id: str
    name_th: str
    name_en: str
    target_wait_minutes: int


class DepartmentList(BaseModel):
    departments: list[Department]


class Topic(BaseModel):
    """The knowledge-base entry an escalation was routed by, with the Thai title officers read."""

    faq_id: str
    title: str


class ConversationSummary(BaseModel):
    """A queue row (INTERFACES.md, ``GET /api/officer/queue``) and what the console adds to it."""

    id: str
    channel: Channel
    department: str | None
    reason: str | None
    waiting_since: IsoTimestamp | None
    last_message: str | None
    state: ConversationState
    assigned_to: str | None
    waited_seconds: int
    target_wait_minutes: int
    over_target: bool
    topic: Topic | None
    question: str | None


class HeldConversation(ConversationSummary):
    assigned_username: str | None


class Queue(BaseModel):
    conversations: list[ConversationSummary]


class HeldConversations(BaseModel):
    conversations: list[HeldConversation]


class DepartmentCount(BaseModel):
    department: str
    waiting: int
    with_officer: int
    breached: int  # waiting longer than the department's target


class DepartmentCounts(BaseModel):
    departments: list[DepartmentCount]


class Colleague(BaseModel):
    id: str
    username: str
    role: Role
    departments: list[str]


class Colleagues(BaseModel):
    officers: list[Colleague]


class ConversationStatus(BaseModel):
    """Where a conversation stands after a claim, transfer, assignment or resolve."""

    id: str
    state: ConversationState
    department: str | None
    assigned_to: str | None


class Note(BaseModel):
    id: str
    kind: Literal["note", "transfer"]
    text: str
    officer_id: str | None
    officer_username: str | None
    detail: dict[str, Any]
    created_at: IsoTimestamp


class NluDecision(BaseModel):
    """Exactly the contract's four keys; the whole stored decision is ``nlu_detail``."""

    intent: str | None
    confidence: float | None
    faq_id: str | None
    action: str | None


class TranscriptMessage(BaseModel):
    id: str
    direction: Literal["in", "out"]
    sender: Sender
    text: str
    created_at: IsoTimestamp
    quick_replies: list[str]
    nlu: NluDecision | None
    nlu_detail: dict[str, Any] | None
    delivery_status: DeliveryStatus | None
    delivery_error: str | None
    officer_id: str | None
    extra: dict[str, Any]  # rich parts (attachments, cards) as the channel gave them


class AttachmentInfo(BaseModel):
    """A file the citizen sent; ``download`` when the hub keeps a copy (e.g. LINE images)."""

    message_id: str
    index: int
    kind: str | None
    url: str | None
    external_id: str | None
    filename: str | None
    content_type: str | None
    size: int | None
    fetch_error: str | None
    download: str | None
    created_at: IsoTimestamp


class CitizenContact(BaseModel):
    display_name: str | None
    active: bool
    unreachable_reason: str | None


class CaseBrief(BaseModel):
    number: str
    status: CaseStatus
    department: str
    description: str | None
    created_at: IsoTimestamp


class EscalationInfo(BaseModel):
    id: str
    department: str
    reason: str
    created_at: IsoTimestamp
    claimed_at: IsoTimestamp | None
    first_reply_at: IsoTimestamp | None
    resolved_at: IsoTimestamp | None
    rating: int | None


class ConversationDetail(BaseModel):
    """INTERFACES.md's transcript (``GET /api/officer/conversations/{id}``) and the console's extras."""

    id: str
    channel: Channel
    department: str | None
    state: ConversationState
    assigned_to: str | None
    assigned_username: str | None
    reason: str | None
    waiting_since: IsoTimestamp | None
    target_wait_minutes: int
    citizen: CitizenContact
    reply_refusal: str | None  # why an officer reply cannot reach the citizen now
    messages: list[TranscriptMessage]
    attachments: list[AttachmentInfo]
    notes: list[Note]
    complaints: list[CaseBrief]
    escalation: EscalationInfo | None


class CitizenIdentity(BaseModel):
    channel: Channel
    channel_user_id: str | None
    display_name: str | None
    first_seen: IsoTimestamp | None


class PastEscalation(BaseModel):
    id: str
    department: str
    reason: str
    question: str | None  # what it was about: the citizen's words before it
    created_at: IsoTimestamp
    claimed_by: str | None  # the officer's username
    resolved_at: IsoTimestamp | None
    rating: int | None
    current: bool


class CitizenHistory(BaseModel):
    """The citizen panel; another department's case is listed without its description."""

    citizen: CitizenIdentity
    escalations: list[PastEscalation]
    cases: list[CaseBrief]


class CannedReply(BaseModel):
    faq_id: str
    title: str
    department: str
    text: str


class CannedReplies(BaseModel):
    replies: list[CannedReply]


class OfficerAccount(BaseModel):
    id: str
    username: str
    role: Role
    departments: list[str]
    active: bool
    created_at: IsoTimestamp


class OfficerAccounts(BaseModel):
    officers: list[OfficerAccount]


class AuditEntry(BaseModel):
    id: str
    officer_id: str | None
    username: str | None
    action: str
    target: str | None
    detail: dict[str, Any]
    created_at: IsoTimestamp


class AuditLog(BaseModel):
    records: list[AuditEntry]
