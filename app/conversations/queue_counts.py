"""How much is waiting: events for the workers, citizens for an officer (metrics, the citizen's place in line)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.conversations.models import Conversation, ConversationState, WorkItem, WorkStatus


def count_pending_work(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(WorkItem)
            .where(WorkItem.status.in_([WorkStatus.PENDING, WorkStatus.PROCESSING]))
        )
        or 0
    )


def waiting_position(session: Session, conversation: Conversation) -> int:
    """1-based place in its department's queue, oldest first."""
    assert conversation.waiting_since is not None
    ahead = session.scalar(
        select(func.count())
        .select_from(Conversation)
        .where(
            Conversation.state == ConversationState.WAITING,
            Conversation.department == conversation.department,
            Conversation.waiting_since < conversation.waiting_since,
        )
    )
    return int(ahead or 0) + 1


def count_waiting(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(Conversation.state == ConversationState.WAITING)
        )
        or 0
    )
