"""The officer queue's rules: claim, reply, resend, transfer, resolve, notes and reassignment.

Every action is one unit of work (``OfficerDesk.transactions``, a sync ``Session``, as the
workers' units): it first locks the conversation (see ``repository.lock_conversation``), checks
the officer's departments (another department's conversation is "not found") and who holds it,
changes the state, queues any message for the citizen's own channel and writes the audit record.
A unit may run twice on SQLite (``SqliteTransactions``): it returns what it produced and changes
nothing outside its session. Events are published after commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Unpack

from sqlalchemy.orm import Session

from app.conversations import service as conversations
from app.conversations.flows import AWAITING_RATING
from app.conversations.models import Conversation, ConversationState, DeliveryStatus, Message, Sender
from app.conversations.queue_counts import waiting_position
from app.conversations.service import OutboundOptions
from app.db.schema import utcnow
from app.officers import access, events, repository
from app.officers.desk import OfficerDesk
from app.officers.errors import Conflict, Forbidden, Invalid, NotFound
from app.officers.models import ConversationNote, Officer
from app.officers.schemas import Note
from channels.base import ChannelAdapter


@dataclass
class _Changes:
    """What a unit changed, to publish once it committed."""

    conversation: Conversation | None = None
    messages: list[Message] = field(default_factory=list)
    queues: set[str | None] = field(default_factory=set)
    note: ConversationNote | None = None


async def _publish(desk: OfficerDesk, changes: _Changes, author: Officer | None = None) -> None:
    if changes.messages:
        desk.wake_delivery()
        await events.publish_messages(desk.bus, changes.messages)
    if changes.conversation is not None:
        await events.publish_conversation_changed(desk.bus, changes.conversation)
    if changes.note is not None:
        note = note_view(changes.note, author.username if author else None)
        await events.publish_note(desk.bus, changes.note.conversation_id, note.model_dump(mode="json"))
    await events.publish_queue_changed(desk.bus, changes.queues)


def note_view(note: ConversationNote, username: str | None) -> Note:
    return Note(
        id=note.id,
        kind=note.kind,
        text=note.text,
        officer_id=note.officer_id,
        officer_username=username,
        detail=note.detail or {},
        created_at=note.created_at,
    )


def _locked(session: Session, officer: Officer, conversation_id: str) -> Conversation:
    conversation = repository.lock_conversation(session, conversation_id)
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


def _check_deliverable(
    adapters: Mapping[str, ChannelAdapter], conversation: Conversation, now: dt.datetime
) -> None:
    adapter = adapters.get(conversation.channel)
    if adapter is None:
        raise Conflict(f"the {conversation.channel} channel is not configured")
    refusal = adapter.officer_reply_refusal(conversation.last_inbound_at, now)
    if refusal:
        raise Conflict(refusal)


def reply_refusal(
    adapters: Mapping[str, ChannelAdapter], conversation: Conversation, now: dt.datetime
) -> str | None:
    """Why an officer reply cannot reach this citizen now (shown in the console), or ``None``."""
    try:
        _check_deliverable(adapters, conversation, now)
    except Conflict as refusal:
        return refusal.reason
    return None


def _take(session: Session, conversation: Conversation, officer_id: str, now: dt.datetime) -> None:
    conversation.state = ConversationState.WITH_OFFICER
    conversation.assigned_to = officer_id
    escalation = conversations.open_escalation(session, conversation)
    if escalation is not None and escalation.claimed_at is None:
        escalation.claimed_at = now
        escalation.claimed_by = officer_id


def _queue_for_citizen(
    session: Session, conversation: Conversation, text: str, **options: Unpack[OutboundOptions]
) -> Message:
    message = conversations.new_outbound(conversation, text, **options)
    session.add(message)
    return message


async def claim(desk: OfficerDesk, officer: Officer, conversation_id: str) -> Conversation:
    now = utcnow()

    def unit(session: Session) -> tuple[Conversation, _Changes]:
        conversation = _locked(session, officer, conversation_id)
        if conversation.state == ConversationState.WITH_OFFICER and conversation.assigned_to == officer.id:
            return conversation, _Changes()  # claimed twice by its holder: nothing changes
        _check_holder(officer, conversation)
        if conversation.state != ConversationState.WAITING:
            raise Conflict("the conversation is not waiting for an officer")
        _take(session, conversation, officer.id, now)
        changes = _Changes(conversation=conversation, queues={conversation.department})
        if reply_refusal(desk.adapters, conversation, now) is None:
            changes.messages.append(_queue_for_citizen(session, conversation, desk.responses.officer_joined))
        repository.add_audit(
            session, officer.id, "claim", conversation.id, {"department": conversation.department}
        )
        session.flush()
        return conversation, changes

    conversation, changes = await desk.transactions.run(unit)
    await _publish(desk, changes)
    return conversation


async def reply(desk: OfficerDesk, officer: Officer, conversation_id: str, text: str) -> Message:
    """Queue the officer's text for the citizen's own channel (claiming a waiting conversation)."""
    now = utcnow()

    def unit(session: Session) -> tuple[Message, _Changes]:
        changes = _Changes()
        conversation = _locked(session, officer, conversation_id)
        _check_escalated(conversation)
        _check_holder(officer, conversation)
        _check_deliverable(desk.adapters, conversation, now)
        if conversation.state == ConversationState.WAITING:
            # replying claims it, as visibly as the claim button: the citizen is told who took it
            _take(session, conversation, officer.id, now)
            repository.add_audit(
                session, officer.id, "claim", conversation.id, {"department": conversation.department}
            )
            changes.messages.append(_queue_for_citizen(session, conversation, desk.responses.officer_joined))
            changes.queues.add(conversation.department)
            changes.conversation = conversation
        message = _queue_for_citizen(
            session, conversation, text, sender=Sender.OFFICER, officer_id=officer.id
        )
        escalation = conversations.open_escalation(session, conversation)
        if escalation is not None and escalation.first_reply_at is None:
            escalation.first_reply_at = now
        session.flush()
        repository.add_audit(session, officer.id, "reply", conversation.id, {"message_id": str(message.id)})
        changes.messages.append(message)
        return message, changes

    message, changes = await desk.transactions.run(unit)
    await _publish(desk, changes)
    return message


async def resend(desk: OfficerDesk, officer: Officer, conversation_id: str, message_id: int) -> Message:
    """A failed outbound message, queued again as a new attempt (a new message)."""
    now = utcnow()

    def unit(session: Session) -> Message:
        conversation = _locked(session, officer, conversation_id)
        _check_holder(officer, conversation)
        original = repository.message_of(session, conversation.id, message_id)
        if original is None or original.direction != "out":
            raise NotFound("no such outbound message in this conversation")
        if original.delivery_status != DeliveryStatus.FAILED:
            raise Conflict("only a message whose delivery failed can be sent again")
        _check_deliverable(desk.adapters, conversation, now)
        message = _queue_for_citizen(
            session,
            conversation,
            original.text or "",
            sender=Sender(original.sender),
            officer_id=officer.id if original.sender == Sender.OFFICER else original.officer_id,
            quick_replies=list(original.quick_replies or []),
            extra={**(original.extra or {}), "resend_of": str(original.id)},
        )
        session.flush()
        repository.add_audit(
            session,
            officer.id,
            "resend",
            conversation.id,
            {"message_id": str(message.id), "resend_of": str(original.id)},
        )
        return message

    message = await desk.transactions.run(unit)
    await _publish(desk, _Changes(messages=[message]))
    return message


async def transfer(
    desk: OfficerDesk, officer: Officer, conversation_id: str, department: str, note: str | None
) -> Conversation:
    """Back into the queue of ``department`` (keeping its place by waiting time), with a note."""
    departments = desk.knowledge().departments
    if department not in departments:
        raise Invalid(f"unknown department {department!r}")
    now = utcnow()

    def unit(session: Session) -> _Changes:
        conversation = _locked(session, officer, conversation_id)
        _check_escalated(conversation)
        _check_holder(officer, conversation, overrule=True)
        previous = conversation.department
        conversation.state = ConversationState.WAITING
        conversation.assigned_to = None
        conversation.department = department
        conversation.waiting_since = conversation.waiting_since or now
        escalation = conversations.open_escalation(session, conversation)
        if escalation is not None:
            escalation.department = department
        changes = _Changes(conversation=conversation, queues={previous, department})
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
            position = waiting_position(session, conversation)
            text = desk.responses.transferred.format(
                department=departments[department].name_th, position=position
            )
            changes.messages.append(_queue_for_citizen(session, conversation, text))
        repository.add_audit(
            session, officer.id, "transfer", conversation.id, {"from": previous, "to": department}
        )
        session.flush()
        return changes

    changes = await desk.transactions.run(unit)
    await _publish(desk, changes, officer)
    assert changes.conversation is not None
    return changes.conversation


async def resolve(desk: OfficerDesk, officer: Officer, conversation_id: str) -> Conversation:
    """Back to the bot; the citizen is asked to rate the service 1-5."""
    responses = desk.responses

    def unit(session: Session) -> _Changes:
        conversation = _locked(session, officer, conversation_id)
        _check_escalated(conversation)
        _check_holder(officer, conversation, overrule=True)
        escalation = conversations.hand_back_to_bot(session, conversation)
        conversation.awaiting = AWAITING_RATING
        rating = _queue_for_citizen(
            session,
            conversation,
            responses.rating_request,
            quick_replies=list(responses.rating_quick_replies),
        )
        repository.add_audit(
            session,
            officer.id,
            "resolve",
            conversation.id,
            {"department": conversation.department, "escalation_id": escalation.id if escalation else None},
        )
        session.flush()
        return _Changes(conversation=conversation, messages=[rating], queues={conversation.department})

    changes = await desk.transactions.run(unit)
    await _publish(desk, changes)
    assert changes.conversation is not None
    return changes.conversation


async def add_note(desk: OfficerDesk, officer: Officer, conversation_id: str, text: str) -> ConversationNote:
    def unit(session: Session) -> ConversationNote:
        conversation = _locked(session, officer, conversation_id)
        note = ConversationNote(
            conversation_id=conversation.id, officer_id=officer.id, kind="note", text=text
        )
        session.add(note)
        session.flush()
        repository.add_audit(session, officer.id, "note", conversation.id, {"note_id": note.id})
        return note

    note = await desk.transactions.run(unit)
    await _publish(desk, _Changes(note=note), officer)
    return note


async def assign(
    desk: OfficerDesk, officer: Officer, conversation_id: str, assignee_id: str | None
) -> Conversation:
    """Supervisors and admins: hand a conversation to an officer, or (``None``) back to the queue."""
    if not access.can_overrule(officer):
        raise Forbidden("only supervisors and administrators reassign conversations")
    now = utcnow()

    def unit(session: Session) -> Conversation:
        conversation = _locked(session, officer, conversation_id)
        _check_escalated(conversation)
        previous = conversation.assigned_to
        if assignee_id is None:
            conversation.state = ConversationState.WAITING
            conversation.assigned_to = None
        else:
            assignee = session.get(Officer, assignee_id)
            if assignee is None or not assignee.active or not access.can_see(assignee, conversation):
                raise Invalid("that officer does not work for this conversation's department")
            _take(session, conversation, assignee.id, now)
        repository.add_audit(
            session, officer.id, "assign", conversation.id, {"from": previous, "to": assignee_id}
        )
        return conversation

    conversation = await desk.transactions.run(unit)
    await _publish(desk, _Changes(conversation=conversation, queues={conversation.department}))
    return conversation


async def record_access(
    desk: OfficerDesk, officer: Officer, conversation_id: str, detail: dict[str, object]
) -> None:
    await desk.transactions.run(
        lambda session: repository.add_audit(session, officer.id, "attachment_read", conversation_id, detail)
    )
