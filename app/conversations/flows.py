"""Multi-step bot flows around the officer queue, called by the pipeline.

- Escalations: carrying out the policy's ``ESCALATE`` decisions (``escalate``), and the
  notices "an officer will answer, you are number N", and outside office hours
  (``knowledge_base/office_hours.yml``) when an answer can be expected.
- Complaints: ask for a short description (``awaiting = "complaint_description"``), file a
  case with a tracking number and a 4-digit PIN and queue it as the policy decides
  (``DecisionPolicy.complaint_filed``).
- Case status, in every conversation state (also while waiting for or talking with an
  officer, who sees the exchange in the transcript): a message naming a case number gets its
  status at once -- from the channel identity that filed it with the number alone, from any
  other with the number and its PIN. Without the PIN the bot asks for it and says nothing of
  the case; wrong PINs are limited per conversation.
- Satisfaction: after an officer resolved the conversation, "1".."5" or ``rate:<n>`` is stored
  on the escalation and thanked.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from sqlalchemy.orm import Session

from app.complaints import service as complaints
from app.conversations import service
from app.conversations.inbound import InboundEvent
from app.conversations.models import Conversation, ConversationState
from app.conversations.policy import Decision, DecisionPolicy, EscalationReason
from app.conversations.replies import Reply
from app.db.schema import utcnow
from app.officers import repository as officers_repository
from channels.base import (
    POSTBACK_CANCEL,
    POSTBACK_COMPLAINT,
    POSTBACK_COMPLAINT_STATUS,
    POSTBACK_FAQ_PREFIX,
    POSTBACK_HUMAN,
    POSTBACK_RATE_PREFIX,
    InboundKind,
)
from knowledge_base.conversation import Responses
from knowledge_base.loader import KnowledgeBase
from knowledge_base.office_hours import OfficeHours, load_office_hours
from nlu.client import COMPLAINT_STATUS_INTENT
from nlu.thai_text import normalize

AWAITING_COMPLAINT_DESCRIPTION = "complaint_description"
AWAITING_COMPLAINT_NUMBER = "complaint_number"
AWAITING_RATING = "rating"
AWAITING_PIN_PREFIX = "complaint_pin:"  # followed by the case number the PIN is for
MAX_PIN_FAILURES = 5  # wrong PINs per conversation within PIN_FAILURE_WINDOW
PIN_FAILURE_WINDOW = dt.timedelta(hours=1)
_RATING = re.compile(r"^\s*([1-5])\s*(?:คะแนน|ดาว|/\s*5)?\s*[.!]?\s*$")


def parse_rating(text: str | None) -> int | None:
    match = _RATING.match(normalize(text or ""))  # Thai digits too
    return int(match.group(1)) if match else None


class Flows:
    def __init__(
        self,
        responses: Responses,
        policy: DecisionPolicy,
        knowledge_base: Callable[[], KnowledgeBase],
        office_hours: OfficeHours | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        *,
        pin_key: str,
    ) -> None:
        self.pin_key = pin_key  # the hub's secret key: case PINs are kept as keyed hashes
        self.responses = responses
        self.policy = policy
        self._kb = knowledge_base
        self.office_hours = office_hours or load_office_hours()
        self.clock = clock  # tests inject a fixed time to check the after-hours notice

    # ---- escalations and their notices -----------------------------------------------------
    def escalate(self, session: Session, conversation: Conversation, decision: Decision) -> int:
        """Carry out the policy's escalation: the conversation joins the queue; the citizen's position."""
        department, reason = decision.escalation
        return service.escalate(session, conversation, department, reason, decision.topic)

    def after_hours_note(self) -> str:
        """Empty during office hours; else when officers will be back."""
        now = self.clock()
        hours = self.office_hours
        next_open = hours.next_open(now)
        if hours.is_open(now) or next_open is None:
            return ""
        text = self.responses.escalated_after_hours.format(
            office_hours=hours.description_th, next_open=hours.describe(next_open)
        )
        return "\n" + text

    def escalation_reply(self, reason: EscalationReason, position: int) -> Reply:
        text = self.responses.escalated.format(position=position)
        if reason == EscalationReason.EXPIRED_ANSWER:
            text = f"{self.responses.expired_answer}\n{text}"
        return Reply(text + self.after_hours_note(), [self.responses.quick_reply_cancel])

    def still_waiting_reply(self, position: int) -> Reply:
        text = self.responses.still_waiting.format(position=position)
        return Reply(text + self.after_hours_note(), [self.responses.quick_reply_cancel])

    # ---- starting a complaint from the NLU's decision --------------------------------------
    def start_complaint(self, conversation: Conversation, decision: Decision) -> Reply:
        if decision.intent == COMPLAINT_STATUS_INTENT:
            conversation.awaiting = AWAITING_COMPLAINT_NUMBER
            return Reply(self.responses.complaint_ask_number)
        conversation.awaiting = AWAITING_COMPLAINT_DESCRIPTION
        return Reply(self.responses.complaint_ask_description, [self.responses.quick_reply_cancel])

    # ---- messages a flow answers instead of the NLU ----------------------------------------
    def consumes(self, conversation: Conversation, event: InboundEvent) -> bool:
        """Whether the bot answers this event through a flow (no NLU needed)."""
        if event.kind not in (InboundKind.TEXT, InboundKind.POSTBACK):
            return False
        postback, text = event.postback, event.text
        if conversation.state == ConversationState.BOT and self._bot_flow_takes(conversation, postback, text):
            return True
        # A case number, or the PIN the bot asked for, is answered in every state.
        return complaints.find_number(text) is not None or _awaited_pin(conversation, text) is not None

    def _bot_flow_takes(self, conversation: Conversation, postback: str, text: str) -> bool:
        if postback in (POSTBACK_COMPLAINT, POSTBACK_COMPLAINT_STATUS) or postback.startswith(
            POSTBACK_RATE_PREFIX
        ):
            return True
        if postback == POSTBACK_HUMAN or postback.startswith(POSTBACK_FAQ_PREFIX):
            return False
        if conversation.awaiting == AWAITING_COMPLAINT_DESCRIPTION:
            return bool(text.strip()) or postback == POSTBACK_CANCEL
        return conversation.awaiting == AWAITING_RATING and parse_rating(text) is not None

    def handle(self, session: Session, conversation: Conversation, event: InboundEvent) -> list[Reply] | None:
        """The flow's replies, or ``None`` when no flow takes this event (the NLU path does)."""
        if not self.consumes(conversation, event):
            return None
        postback, text = event.postback, event.text
        awaiting = conversation.awaiting
        conversation.awaiting = None
        if conversation.state == ConversationState.BOT:
            if postback.startswith(POSTBACK_RATE_PREFIX):
                rating = parse_rating(postback.removeprefix(POSTBACK_RATE_PREFIX))
                return [self._rate(session, conversation, rating)]
            if postback == POSTBACK_COMPLAINT:
                conversation.awaiting = AWAITING_COMPLAINT_DESCRIPTION
                return [Reply(self.responses.complaint_ask_description, [self.responses.quick_reply_cancel])]
            if awaiting == AWAITING_COMPLAINT_DESCRIPTION and postback != POSTBACK_COMPLAINT_STATUS:
                if postback == POSTBACK_CANCEL or self.policy.is_cancel(text):
                    return [Reply(self.responses.complaint_cancelled)]
                return [self._file_complaint(session, conversation, event)]
            if awaiting == AWAITING_RATING and (rating := parse_rating(text)) is not None:
                return [self._rate(session, conversation, rating)]
        found = complaints.find_number_and_pin(text)
        if found is not None:
            return [self._complaint_status(session, conversation, *found)]
        pin = complaints.parse_pin(text)
        if awaiting and awaiting.startswith(AWAITING_PIN_PREFIX) and pin is not None:
            return [
                self._complaint_status(session, conversation, awaiting.removeprefix(AWAITING_PIN_PREFIX), pin)
            ]
        # the complaint-status button, without a number yet
        conversation.awaiting = AWAITING_COMPLAINT_NUMBER
        return [Reply(self.responses.complaint_ask_number)]

    def _file_complaint(self, session: Session, conversation: Conversation, event: InboundEvent) -> Reply:
        decision = self.policy.complaint_filed()
        department, _ = decision.escalation
        case = complaints.file_complaint(session, conversation, event.text, department, self.clock())
        pin = complaints.issue_pin(case, self.pin_key)
        conversation.question_message_id = event.message_id
        position = self.escalate(session, conversation, decision)
        filed = self.responses.complaint_filed.format(number=case.number, pin=pin, position=position)
        return Reply(filed + self.after_hours_note(), [self.responses.quick_reply_cancel])

    def wait_cancelled_reply(self, session: Session, conversation: Conversation) -> Reply:
        """The citizen stopped waiting for an officer; a case they filed goes on regardless."""
        cases = complaints.open_cases_of_conversation(session, conversation.id)
        if not cases:
            return Reply(self.responses.escalation_cancelled)
        latest = cases[0]
        status = self.responses.complaint_statuses.get(latest.status, latest.status)
        return Reply(self.responses.complaint_wait_cancelled.format(number=latest.number, status=status))

    def _complaint_status(
        self, session: Session, conversation: Conversation, number: str, pin: str | None
    ) -> Reply:
        case = complaints.case_for_citizen(session, number, conversation.citizen_id)
        if case is None:  # not the identity that filed it: the PIN decides
            if pin is None:  # nothing said of the case, not even whether it exists
                conversation.awaiting = AWAITING_PIN_PREFIX + number
                return Reply(self.responses.complaint_ask_pin)
            if self._pin_locked(conversation):
                return Reply(self.responses.complaint_pin_locked)
            case = complaints.case_with_pin(session, number, pin, self.pin_key)
            if case is None:
                self._count_pin_failure(conversation)
                return Reply(self.responses.complaint_pin_refused)
        department = self._kb().departments.get(case.department)
        filed_on = complaints.filed_on(case)
        text = self.responses.complaint_status.format(
            number=case.number,
            filed_on=self.office_hours.describe_date(filed_on),
            department=department.name_th if department else case.department,
            status=self.responses.complaint_statuses.get(case.status, case.status),
        )
        return Reply(text)

    def forget_pin_request(self, conversation: Conversation) -> None:
        """Another message came instead of the PIN the bot asked for (the bot path does this itself)."""
        if (conversation.awaiting or "").startswith(AWAITING_PIN_PREFIX):
            conversation.awaiting = None

    def _pin_locked(self, conversation: Conversation) -> bool:
        recent = conversation.pin_failed_at is not None and (
            self.clock() - conversation.pin_failed_at < PIN_FAILURE_WINDOW
        )
        return recent and conversation.pin_failures >= MAX_PIN_FAILURES

    def _count_pin_failure(self, conversation: Conversation) -> None:
        now = self.clock()
        if conversation.pin_failed_at is None or now - conversation.pin_failed_at >= PIN_FAILURE_WINDOW:
            conversation.pin_failures = 0
        conversation.pin_failures = (conversation.pin_failures or 0) + 1
        conversation.pin_failed_at = now

    def _rate(self, session: Session, conversation: Conversation, rating: int | None) -> Reply:
        if rating is None:
            conversation.awaiting = AWAITING_RATING
            return Reply(self.responses.rating_request, list(self.responses.rating_quick_replies))
        escalation = officers_repository.latest_unrated_escalation(session, conversation.id)
        if escalation is not None:
            escalation.rating = rating
        return Reply(self.responses.rating_thanks.format(rating=rating))


def _awaited_pin(conversation: Conversation, text: str) -> str | None:
    """The PIN the bot asked for, when this message is one."""
    if not (conversation.awaiting or "").startswith(AWAITING_PIN_PREFIX):
        return None
    return complaints.parse_pin(text)
