"""What the console reads: the queue, held conversations, a transcript, canned replies."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.complaints import service as complaints
from app.complaints.models import CaseStatus
from app.conversations import service as conversation_service
from app.conversations import transcript
from app.conversations.models import Conversation, ConversationState, Escalation, Message
from app.conversations.schemas import message_for_officer
from app.db.schema import utcnow
from app.officers import access, repository
from app.officers.errors import NotFound
from app.officers.models import Officer, Role
from app.officers.schemas import (
    AttachmentInfo,
    CannedReply,
    CaseBrief,
    CitizenContact,
    ConversationDetail,
    ConversationSummary,
    Department,
    EscalationInfo,
    HeldConversation,
    OfficerProfile,
    Topic,
    TranscriptMessage,
)
from app.officers.service import note_view, reply_refusal
from channels.base import Channel, ChannelAdapter
from knowledge_base.loader import KnowledgeBase

AGENCY_ZONE = ZoneInfo("Asia/Bangkok")
NLU_CONTRACT_KEYS = ("intent", "confidence", "faq_id", "action")
DEFAULT_TARGET_WAIT_MINUTES = 30


def target_wait_minutes(kb: KnowledgeBase, department: str | None) -> int:
    found = kb.departments.get(department or "")
    return found.target_wait_minutes if found else DEFAULT_TARGET_WAIT_MINUTES


def _summary(
    kb: KnowledgeBase,
    conversation: Conversation,
    last_text: str | None,
    now: dt.datetime,
    questions: dict[int, str | None],
) -> ConversationSummary:
    waited = (now - conversation.waiting_since).total_seconds() if conversation.waiting_since else 0.0
    target = target_wait_minutes(kb, conversation.department)
    return ConversationSummary(
        id=conversation.id,
        channel=Channel(conversation.channel),
        department=conversation.department,
        reason=conversation.escalation_reason,
        waiting_since=conversation.waiting_since,
        last_message=last_text,
        state=ConversationState(conversation.state),
        assigned_to=conversation.assigned_to,
        waited_seconds=int(waited),
        target_wait_minutes=target,
        over_target=waited > target * 60,
        topic=_topic(kb, conversation.topic_faq_id),
        question=questions.get(conversation.question_message_id or 0),
    )


def _topic(kb: KnowledgeBase, faq_id: str | None) -> Topic | None:
    """The entry the escalation was routed by, with the Thai title officers read."""
    entry = kb.entry(faq_id) if faq_id else None
    return Topic(faq_id=entry.id, title=entry.title) if entry is not None else None


async def queue(kb: KnowledgeBase, session: AsyncSession, officer: Officer) -> list[ConversationSummary]:
    """Escalated, unclaimed conversations of the officer's departments, oldest first."""
    now = utcnow()
    rows = await repository.waiting_conversations(session, access.department_scope(officer))
    questions = await _questions(session, [conversation for conversation, _ in rows])
    return [_summary(kb, conversation, text, now, questions) for conversation, text in rows]


async def _questions(session: AsyncSession, conversations: list[Conversation]) -> dict[int, str | None]:
    """What each citizen asked (their last message beyond a request for a person), in one query."""
    return await conversation_service.message_texts(session, [c.question_message_id for c in conversations])


async def held(
    kb: KnowledgeBase, session: AsyncSession, officer: Officer, everyone: bool
) -> list[HeldConversation]:
    """Conversations with an officer: the officer's own, or (``everyone``) all of the departments."""
    now = utcnow()
    rows = await repository.active_conversations(
        session, access.department_scope(officer), None if everyone else officer.id
    )
    names = await repository.usernames(session, {c.assigned_to for c, _ in rows if c.assigned_to})
    questions = await _questions(session, [conversation for conversation, _ in rows])
    return [
        HeldConversation(
            **dict(_summary(kb, conversation, text, now, questions)),
            assigned_username=names.get(conversation.assigned_to or ""),
        )
        for conversation, text in rows
    ]


def officer_message(message: Message) -> TranscriptMessage:
    """The transcript shape of INTERFACES.md (``nlu`` exactly its four keys), plus rich parts."""
    stored = message.nlu
    contract = {key: stored.get(key) for key in NLU_CONTRACT_KEYS} if stored else None
    return TranscriptMessage.model_validate(
        {
            **message_for_officer(message),
            "nlu": contract,
            "nlu_detail": stored,
            "created_at": message.created_at,
        }
    )


def _attachments(conversation_id: str, messages: list[Message]) -> list[AttachmentInfo]:
    """What the citizen sent; ``download`` when the hub keeps a copy (e.g. LINE images)."""
    found = []
    for message in messages:
        for index, attachment in enumerate((message.extra or {}).get("attachments") or []):
            stored = bool(attachment.get("stored_path"))
            found.append(
                AttachmentInfo(
                    message_id=str(message.id),
                    index=index,
                    kind=attachment.get("kind"),
                    url=attachment.get("url"),
                    external_id=attachment.get("external_id"),
                    filename=attachment.get("filename"),
                    content_type=attachment.get("content_type"),
                    size=attachment.get("size"),
                    fetch_error=attachment.get("fetch_error"),
                    download=f"/api/officer/conversations/{conversation_id}/attachments/{message.id}/{index}"
                    if stored
                    else None,
                    created_at=message.created_at,
                )
            )
    return found


async def stored_attachment(
    var_dir: Path,
    session: AsyncSession,
    officer: Officer,
    conversation_id: str,
    message_id: int,
    index: int,
) -> tuple[Path, str | None, str]:
    """The kept copy of an attachment: its file, content type and a download name."""
    conversation = await repository.get_conversation(session, conversation_id)
    if conversation is None or not access.can_see(officer, conversation):
        raise NotFound("no such conversation in your departments")
    message = await repository.get_message(session, conversation.id, message_id)
    attachments = ((message.extra or {}).get("attachments") or []) if message else []
    if not 0 <= index < len(attachments) or not attachments[index].get("stored_path"):
        raise NotFound("no stored attachment there")
    attachment = attachments[index]
    root = (var_dir / "attachments").resolve()
    path = (var_dir / str(attachment["stored_path"])).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFound("the stored copy is gone")
    return path, attachment.get("content_type"), attachment.get("filename") or path.name


async def conversation_detail(
    kb: KnowledgeBase,
    adapters: Mapping[str, ChannelAdapter],
    session: AsyncSession,
    officer: Officer,
    conversation_id: str,
) -> ConversationDetail:
    conversation = await repository.get_conversation(session, conversation_id)
    if conversation is None or not access.can_see(officer, conversation):
        raise NotFound("no such conversation in your departments")
    messages = list(await transcript.list_messages(session, conversation.id))
    notes = await repository.notes_of(session, conversation.id)
    citizen = await repository.get_citizen(session, conversation.citizen_id)
    cases = await complaints.cases_of_conversation(session, conversation.id)
    escalation = await repository.latest_escalation(session, conversation.id)
    officer_ids = {n.officer_id for n in notes if n.officer_id} | {
        m.officer_id for m in messages if m.officer_id
    }
    if conversation.assigned_to:
        officer_ids.add(conversation.assigned_to)
    names = await repository.usernames(session, officer_ids)
    return ConversationDetail(
        id=conversation.id,
        channel=Channel(conversation.channel),
        department=conversation.department,
        state=ConversationState(conversation.state),
        assigned_to=conversation.assigned_to,
        assigned_username=names.get(conversation.assigned_to or ""),
        reason=conversation.escalation_reason,
        waiting_since=conversation.waiting_since,
        target_wait_minutes=target_wait_minutes(kb, conversation.department),
        citizen=CitizenContact(
            display_name=citizen.display_name if citizen else None,
            active=citizen.active if citizen else False,
            unreachable_reason=citizen.unreachable_reason if citizen else None,
        ),
        reply_refusal=reply_refusal(adapters, conversation, utcnow()),
        messages=[officer_message(m) for m in messages],
        attachments=_attachments(conversation.id, messages),
        notes=[note_view(n, names.get(n.officer_id or "")) for n in notes],
        complaints=[
            CaseBrief(
                number=case.number,
                status=CaseStatus(case.status),
                department=case.department,
                description=case.description,
                created_at=case.created_at,
            )
            for case in cases
        ],
        escalation=None if escalation is None else _escalation(escalation),
    )


def _escalation(escalation: Escalation) -> EscalationInfo:
    return EscalationInfo(
        id=escalation.id,
        department=escalation.department,
        reason=escalation.reason,
        created_at=escalation.created_at,
        claimed_at=escalation.claimed_at,
        first_reply_at=escalation.first_reply_at,
        resolved_at=escalation.resolved_at,
        rating=escalation.rating,
    )


def canned_replies(kb: KnowledgeBase, source_label: str, officer: Officer) -> list[CannedReply]:
    """The knowledge base's current answers, the officer's own departments first."""
    today = utcnow().astimezone(AGENCY_ZONE).date()
    scope = access.department_scope(officer)
    entries = [entry for entry in kb.entries.values() if not entry.is_expired(today)]
    entries.sort(key=lambda entry: scope is not None and entry.department not in scope)
    return [
        CannedReply(
            faq_id=entry.id,
            title=entry.title,
            department=entry.department,
            text=f"{entry.answer}\n{source_label}: {entry.source_url}",
        )
        for entry in entries
    ]


def departments(kb: KnowledgeBase) -> list[Department]:
    return [
        Department(id=d.id, name_th=d.name_th, name_en=d.name_en, target_wait_minutes=d.target_wait_minutes)
        for d in kb.departments.values()
    ]


def me(kb: KnowledgeBase, officer: Officer) -> OfficerProfile:
    all_departments = list(kb.departments)
    return OfficerProfile(
        id=officer.id,
        username=officer.username,
        role=Role(officer.role),
        departments=access.visible_departments(officer, all_departments),
        can_overrule=access.can_overrule(officer),
        is_admin=access.is_admin(officer),
    )
