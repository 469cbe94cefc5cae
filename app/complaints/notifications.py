"""Telling the citizen about a status change, on the channel they filed from, within its rules.

The update goes through the outbox (``conversations.service.new_outbound``) like any reply, so
LINE pushes carry ``X-Line-Retry-Key`` and web chat stores it and pushes it over the WebSocket.

Messenger (Meta's "Message Tags" policy): within 24 hours of the citizen's last message
anything may be sent. From 24 hours to 7 days only ``HUMAN_AGENT`` is allowed, and only for a
person's own reply to the citizen's inquiry; "automated messages and content unrelated to the
user inquiry are not allowed". A status change that carries the officer's note is that officer
answering the citizen's complaint, so it goes as the officer's message (the Messenger adapter
tags it ``HUMAN_AGENT``); a bare status change is a generated notice and may not. What may not
be sent now is held and queued when the citizen next writes (``release_held``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.complaints.history import ComplaintUpdate, NoticeState
from app.complaints.models import CaseStatus, ComplaintCase
from app.conversations import service as conversations
from app.conversations.models import Conversation, Message, Sender
from channels.base import Channel
from channels.facebook.adapter import HUMAN_AGENT_WINDOW, STANDARD_WINDOW, WINDOW_MARGIN

# What the citizen reads (INTERFACES.md: the status in these words).
STATUS_TH = {
    CaseStatus.RECEIVED: "รับเรื่องแล้ว",
    CaseStatus.IN_PROGRESS: "กำลังดำเนินการ",
    CaseStatus.CLOSED: "ดำเนินการเสร็จสิ้น",
}
UPDATE_TEXT = "แจ้งความคืบหน้าเรื่องร้องเรียนหมายเลข {number}\nสถานะ: {status}"
NOTE_TEXT = "\nหมายเหตุจากเจ้าหน้าที่: {note}"

# Shown to the officer in the case view (Thai first, like the Messenger adapter's refusals).
HELD_NO_MESSAGE = (
    "ยังไม่ส่ง: ประชาชนยังไม่เคยส่งข้อความทาง Messenger จะส่งให้เมื่อประชาชนส่งข้อความมา / "
    "Held: the citizen has not written on Messenger yet."
)
HELD_NEEDS_NOTE = (
    "ยังไม่ส่ง: เกิน 24 ชั่วโมงหลังข้อความล่าสุดของประชาชน Messenger ให้ส่งได้เฉพาะข้อความที่เจ้าหน้าที่เขียนเอง "
    "(แท็ก HUMAN_AGENT) ไม่ใช่การแจ้งสถานะอัตโนมัติ ใส่หมายเหตุถึงประชาชนเพื่อส่งทันที หรือรอให้ประชาชนส่งข้อความมาใหม่ / "
    "Held: more than 24 hours since the citizen's last message; Messenger allows only a person's own reply "
    "(HUMAN_AGENT), not an automatic notice. Add a note to send it now, or it goes when the citizen writes again."
)
HELD_AFTER_7_DAYS = (
    "ยังไม่ส่ง: เกิน 7 วันหลังข้อความล่าสุดของประชาชน Messenger ไม่ให้เพจส่งข้อความแล้ว "
    "จะส่งให้เมื่อประชาชนส่งข้อความมาใหม่ / "
    "Held: more than 7 days since the citizen's last message; Messenger allows no message until they write again."
)


@dataclass(frozen=True)
class Notice:
    """How one status change goes to the citizen: now as ``sender``, or held for ``reason``."""

    sender: Sender
    held_reason: str | None = None


def update_text(number: str, status: CaseStatus, note: str) -> str:
    text = UPDATE_TEXT.format(number=number, status=STATUS_TH[status])
    return text + NOTE_TEXT.format(note=note) if note else text


def plan(conversation: Conversation, note: str, now: dt.datetime) -> Notice:
    """Whether the channel's rules let this update go now, and as whose message."""
    sender = Sender.OFFICER if note else Sender.BOT
    if conversation.channel != Channel.FACEBOOK:
        return Notice(sender)
    last = conversation.last_inbound_at
    if last is None:
        return Notice(sender, HELD_NO_MESSAGE)
    silent_for = now - last
    if silent_for < STANDARD_WINDOW - WINDOW_MARGIN:
        return Notice(sender)
    if silent_for >= HUMAN_AGENT_WINDOW - WINDOW_MARGIN:
        return Notice(sender, HELD_AFTER_7_DAYS)
    if not note:
        return Notice(sender, HELD_NEEDS_NOTE)
    return Notice(Sender.OFFICER)  # the adapter sends it as MESSAGE_TAG / HUMAN_AGENT


def queue_update(
    session: Session,
    case: ComplaintCase,
    conversation: Conversation,
    update: ComplaintUpdate,
    officer_id: str | None,
    now: dt.datetime,
) -> Message | None:
    """Queue the citizen's copy of ``update`` (stored with the session's next flush), or hold it."""
    notice = plan(conversation, update.note, now)
    if notice.held_reason is not None:
        update.notice_state, update.notice_reason = NoticeState.HELD, notice.held_reason
        return None
    message = _outbound(case, conversation, update, notice.sender, officer_id)
    session.add(message)
    session.flush()  # the message's id, for the history row
    update.notice_state, update.message_id = NoticeState.QUEUED, message.id
    return message


def release_held(session: Session, conversations_written: Sequence[Conversation]) -> list[Message]:
    """Queue the updates held for these conversations, now that their citizens wrote again.

    Called in the transaction that stores the citizens' messages (so the window is open again),
    before that turn's own replies are queued: the updates go first, in the order they were made.
    Only Messenger ever holds an update, so other channels cost no query.
    """
    by_id = {c.id: c for c in conversations_written if c.channel == Channel.FACEBOOK}
    if not by_id:
        return []
    rows = session.execute(
        select(ComplaintUpdate, ComplaintCase)
        .join(ComplaintCase, ComplaintCase.id == ComplaintUpdate.case_id)
        .where(ComplaintUpdate.notice_state == NoticeState.HELD, ComplaintCase.conversation_id.in_(by_id))
        .order_by(ComplaintUpdate.at)
        .with_for_update(of=ComplaintUpdate)
    ).all()
    released = []
    for update, case in rows:
        conversation = by_id[case.conversation_id]
        sender = Sender.OFFICER if update.note else Sender.BOT
        message = _outbound(case, conversation, update, sender, update.officer_id)
        session.add(message)
        session.flush()
        update.notice_state, update.message_id = NoticeState.RELEASED, message.id
        released.append(message)
    return released


def _outbound(
    case: ComplaintCase,
    conversation: Conversation,
    update: ComplaintUpdate,
    sender: Sender,
    officer_id: str | None,
) -> Message:
    return conversations.new_outbound(
        conversation,
        update_text(case.number, CaseStatus(update.status), update.note),
        sender=sender,
        officer_id=officer_id if sender == Sender.OFFICER else None,
        extra={"complaint_update": {"number": case.number, "status": update.status}},
    )
