"""The officer queue's rules: claim, reply, resend, transfer, resolve, notes and reassignment.

Every action runs in one transaction that first locks the conversation (see
``repository.lock_conversation``), checks the officer's departments (another department's
conversation is "not found") and who holds it, changes the state, queues any message for
the citizen's own channel and writes the audit record. Events are published after commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from app.conversations import service as conversations
from app.conversations.flows import AWAITING_RATING
from app.conversations.models import Conversation, ConversationState, DeliveryStatus, Message, Sender
from app.conversations.queue_counts import waiting_position
from app.db.schema import utcnow
from app.officers import access, events, repository
from app.officers.errors import Conflict, Forbidden, Invalid, NotFound
from app.officers.models import ConversationNote, Officer
from app.services import Services


@dataclass
class _Changes:
    """What to publish once the transaction committed."""

    conversation: Conversation | None = None
    messages: list[Message] = field(default_factory=list)
    queues: set[str | None] = field(default_factory=set)
    note: ConversationNote | None = None


async def _publish(services: Services, changes: _Changes, author: Officer | None = None) -> None:
    bus = services.bus
    if changes.messages:
        services.workers.notify_delivery()
        await events.publish_messages(bus, changes.messages)
    if changes.conversation is not None:
        await events.publish_conversation_changed(bus, changes.conversation)
    if changes.note is not None:
        await events.publish_note(
            bus, changes.note.conversation_id, note_view(changes.note, author.username if author else None)
        )
    await events.publish_queue_changed(bus, changes.queues)


def note_view(note: ConversationNote, username: str | None) -> dict[str, object]:
    return {
        "id": note.id,
        "kind": note.kind,
        "text": note.text,
        "officer_id": note.officer_id,
        "officer_username": username,
        "detail": note.detail or {},
        "created_at": note.created_at.isoformat(),
    }


async def _locked(session: AsyncSession, officer: Officer, conversation_id: str) -> Conversation:
    conversation = await repository.lock_conversation(session, conversation_id)
    if conversation is None or not access.can_see(officer, conversation):
        raise NotFound("no such conversation in your departments")
    return conversation


def _check_holder(officer: Officer, conversation: Conversation, *, overrule: bool = False) -> None:
    """409 when another officer holds the conversation (unless a supervisor may overrule)."""
    held_by_other = (
        conversation.state == ConversationState.WITH_OFFICER and conversation.assigned_to != officer.id
    )
    if held_by_other and not (overrule and access.can_overrule(officer)):
        raise Conflict("another officer holds this conversation")


def _check_escalated(conversation: Conversation) -> None:
    if conversation.state == ConversationState.BOT:
        raise Conflict("the conversation is with the bot, not escalated")


def _check_deliverable(services: Services, conversation: Conversation, now: dt.datetime) -> None:
    adapter = services.adapters.get(conversation.channel)
    if adapter is None:
        raise Conflict(f"the {conversation.channel} channel is not configured")
    refusal = adapter.officer_reply_refusal(conversation.last_inbound_at, now)
    if refusal:
        raise Conflict(refusal)


def reply_refusal(services: Services, conversation: Conversation, now: dt.datetime) -> str | None:
    """Why an officer reply cannot reach this citizen now (shown in the console), or ``None``."""
    try:
        _check_deliverable(services, conversation, now)
    except Conflict as refusal:
        return refusal.reason
    return None


async def _take(session: AsyncSession, conversation: Conversation, officer_id: str, now: dt.datetime) -> None:
    conversation.state = ConversationState.WITH_OFFICER
    conversation.assigned_to = officer_id
    escalation = await session.run_sync(conversations.open_escalation, conversation)
    if escalation is not None and escalation.claimed_at is None:
        escalation.claimed_at = now
        escalation.claimed_by = officer_id


async def claim(services: Services, officer: Officer, conversation_id: str) -> Conversation:
    now = utcnow()
    changes = _Changes()
    async with services.sessionmaker() as session, session.begin():
        conversation = await _locked(session, officer, conversation_id)
        if conversation.state == ConversationState.WITH_OFFICER and conversation.assigned_to == officer.id:
            return conversation  # claimed twice by its holder: nothing changes
        _check_holder(officer, conversation)
        if conversation.state != ConversationState.WAITING:
            raise Conflict("the conversation is not waiting for an officer")
        await _take(session, conversation, officer.id, now)
        if reply_refusal(services, conversation, now) is None:
            changes.messages.append(
                conversations.add_outbound(session, conversation, services.responses.officer_joined)
            )
        repository.add_audit(
            session, officer.id, "claim", conversation.id, {"department": conversation.department}
        )
        await session.flush()
        changes.conversation, changes.queues = conversation, {conversation.department}
    await _publish(services, changes)
    return conversation


async def reply(services: Services, officer: Officer, conversation_id: str, text: str) -> Message:
    """Queue the officer's text for the citizen's own channel (claiming a waiting conversation)."""
    now = utcnow()
    changes = _Changes()
    async with services.sessionmaker() as session, session.begin():
        conversation = await _locked(session, officer, conversation_id)
        _check_escalated(conversation)
        _check_holder(officer, conversation)
        _check_deliverable(services, conversation, now)
        if conversation.state == ConversationState.WAITING:
            # replying claims it, as visibly as the claim button: the citizen is told who took it
            await _take(session, conversation, officer.id, now)
            repository.add_audit(
                session, officer.id, "claim", conversation.id, {"department": conversation.department}
            )
            changes.messages.append(
                conversations.add_outbound(session, conversation, services.responses.officer_joined)
            )
            changes.queues.add(conversation.department)
            changes.conversation = conversation
        message = conversations.add_outbound(
            session, conversation, text, sender=Sender.OFFICER, officer_id=officer.id
        )
        escalation = await session.run_sync(conversations.open_escalation, conversation)
        if escalation is not None and escalation.first_reply_at is None:
            escalation.first_reply_at = now
        await session.flush()
        repository.add_audit(session, officer.id, "reply", conversation.id, {"message_id": str(message.id)})
        changes.messages.append(message)
    await _publish(services, changes)
    return message


async def resend(services: Services, officer: Officer, conversation_id: str, message_id: int) -> Message:
    """A failed outbound message, queued again as a new attempt (a new message)."""
    now = utcnow()
    async with services.sessionmaker() as session, session.begin():
        conversation = await _locked(session, officer, conversation_id)
        _check_holder(officer, conversation)
        original = await repository.get_message(session, conversation.id, message_id)
        if original is None or original.direction != "out":
            raise NotFound("no such outbound message in this conversation")
        if original.delivery_status != DeliveryStatus.FAILED:
            raise Conflict("only a message whose delivery failed can be sent again")
        _check_deliverable(services, conversation, now)
        message = conversations.add_outbound(
            session,
            conversation,
            original.text or "",
            sender=Sender(original.sender),
            officer_id=officer.id if original.sender == Sender.OFFICER else original.officer_id,
            quick_replies=list(original.quick_replies or []),
            extra={**(original.extra or {}), "resend_of": str(original.id)},
        )
        await session.flush()
        repository.add_audit(
            session,
            officer.id,
            "resend",
            conversation.id,
            {"message_id": str(message.id), "resend_of": str(original.id)},
        )
    await _publish(services, _Changes(messages=[message]))
    return message


async def transfer(
    services: Services, officer: Officer, conversation_id: str, department: str, note: str | None
) -> Conversation:
    """Back into the queue of ``department`` (keeping its place by waiting time), with a note."""
    if department not in services.kb_store.current.departments:
        raise Invalid(f"unknown department {department!r}")
    now = utcnow()
    changes = _Changes()
    async with services.sessionmaker() as session, session.begin():
        conversation = await _locked(session, officer, conversation_id)
        _check_escalated(conversation)
        _check_holder(officer, conversation, overrule=True)
        previous = conversation.department
        conversation.state = ConversationState.WAITING
        conversation.assigned_to = None
        conversation.department = department
        conversation.waiting_since = conversation.waiting_since or now
        escalation = await session.run_sync(conversations.open_escalation, conversation)
        if escalation is not None:
            escalation.department = department
        changes.note = ConversationNote(
            conversation_id=conversation.id,
            officer_id=officer.id,
            kind="transfer",
            text=(note or "").strip(),
            detail={"from": previous, "to": department},
            created_at=now,
        )
        session.add(changes.note)
        if previous != department:
            position = await session.run_sync(waiting_position, conversation)
            name = services.kb_store.current.departments[department].name_th
            text = services.responses.transferred.format(department=name, position=position)
            changes.messages.append(conversations.add_outbound(session, conversation, text))
        repository.add_audit(
            session, officer.id, "transfer", conversation.id, {"from": previous, "to": department}
        )
        await session.flush()
        changes.conversation, changes.queues = conversation, {previous, department}
    await _publish(services, changes, officer)
    return conversation


async def resolve(services: Services, officer: Officer, conversation_id: str) -> Conversation:
    """Back to the bot; the citizen is asked to rate the service 1-5."""
    changes = _Changes()
    async with services.sessionmaker() as session, session.begin():
        conversation = await _locked(session, officer, conversation_id)
        _check_escalated(conversation)
        _check_holder(officer, conversation, overrule=True)
        escalation = await session.run_sync(conversations.hand_back_to_bot, conversation)
        conversation.awaiting = AWAITING_RATING
        responses = services.responses
        changes.messages.append(
            conversations.add_outbound(
                session,
                conversation,
                responses.rating_request,
                quick_replies=list(responses.rating_quick_replies),
            )
        )
        repository.add_audit(
            session,
            officer.id,
            "resolve",
            conversation.id,
            {"department": conversation.department, "escalation_id": escalation.id if escalation else None},
        )
        await session.flush()
        changes.conversation, changes.queues = conversation, {conversation.department}
    await _publish(services, changes)
    return conversation


async def add_note(services: Services, officer: Officer, conversation_id: str, text: str) -> ConversationNote:
    async with services.sessionmaker() as session, session.begin():
        conversation = await _locked(session, officer, conversation_id)
        note = ConversationNote(
            conversation_id=conversation.id, officer_id=officer.id, kind="note", text=text
        )
        session.add(note)
        await session.flush()
        repository.add_audit(session, officer.id, "note", conversation.id, {"note_id": note.id})
    await _publish(services, _Changes(note=note), officer)
    return note


async def assign(
    services: Services, officer: Officer, conversation_id: str, assignee_id: str | None
) -> Conversation:
    """Supervisors and admins: hand a conversation to an officer, or (``None``) back to the queue."""
    if not access.can_overrule(officer):
        raise Forbidden("only supervisors and administrators reassign conversations")
    now = utcnow()
    async with services.sessionmaker() as session, session.begin():
        conversation = await _locked(session, officer, conversation_id)
        _check_escalated(conversation)
        previous = conversation.assigned_to
        if assignee_id is None:
            conversation.state = ConversationState.WAITING
            conversation.assigned_to = None
        else:
            assignee = await repository.officer_by_id(session, assignee_id)
            if assignee is None or not assignee.active or not access.can_see(assignee, conversation):
                raise Invalid("that officer does not work for this conversation's department")
            await _take(session, conversation, assignee.id, now)
        repository.add_audit(
            session, officer.id, "assign", conversation.id, {"from": previous, "to": assignee_id}
        )
    await _publish(services, _Changes(conversation=conversation, queues={conversation.department}))
    return conversation


async def record_access(
    services: Services, officer: Officer, conversation_id: str, detail: dict[str, object]
) -> None:
    async with services.sessionmaker() as session, session.begin():
        repository.add_audit(session, officer.id, "attachment_read", conversation_id, detail)
