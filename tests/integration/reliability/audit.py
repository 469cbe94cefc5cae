"""What was answered: every acknowledged event against the database and against what LINE accepted."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from app.conversations.models import Citizen, Conversation, DeliveryStatus, Message
from app.db.engine import create_engine, create_sessionmaker
from channels.base import Channel
from tests.conftest import wait_for
from tests.fakes.line.api import FakeLineApi
from tests.integration.reliability.processes import SETTLE_TIMEOUT, SentEvent


@dataclass
class Audit:
    """Every acked event against the database and against what LINE accepted, per citizen."""

    events: int
    acked: int
    stored: int  # acked events found in the transcript
    stored_twice: list[str]  # event ids stored more than once
    unanswered: list[str]  # acked event ids without a sent answer
    answers_recorded: int  # outbound messages the hub recorded as sent
    answers_accepted: int  # messages LINE accepted (reply or push; a 409 retry key adds none)
    missing_per_user: dict[str, int]  # recorded as sent but never accepted by LINE
    duplicates: int  # accepted more often than recorded
    explained_duplicates: int  # a reply LINE accepted, its outcome lost, then pushed again
    pushes_refused_by_retry_key: int  # a second push LINE refused with 409: a duplicate avoided
    not_final: int  # answers still pending

    @property
    def lost(self) -> int:
        return len(self.unanswered) + sum(self.missing_per_user.values())

    def report(self, title: str) -> str:
        return (
            f"\n[{title}] events={self.events} acked={self.acked} stored={self.stored} "
            f"lost={self.lost} (unanswered={len(self.unanswered)}, "
            f"recorded-but-not-accepted={sum(self.missing_per_user.values())}) "
            f"answers recorded={self.answers_recorded} accepted by LINE={self.answers_accepted} "
            f"duplicates to citizens={self.duplicates} (reply accepted then pushed after its "
            f"outcome was lost: {self.explained_duplicates}) "
            f"pushes refused by X-Line-Retry-Key (409)={self.pushes_refused_by_retry_key}"
        )


async def _transcripts(database_url: str) -> dict[str, list[Message]]:
    """LINE citizen id -> the conversation's messages in order."""
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = await session.execute(
                select(Citizen.external_id, Message)
                .join(Conversation, Conversation.citizen_id == Citizen.id)
                .join(Message, Message.conversation_id == Conversation.id)
                .where(Citizen.channel == Channel.LINE)
                .order_by(Message.id)
            )
            result: dict[str, list[Message]] = collections.defaultdict(list)
            for user_id, message in rows.all():
                result[user_id].append(message)
            return result
    finally:
        await engine.dispose()


async def stored_without_ack(database_url: str, events: Sequence[SentEvent]) -> int:
    """Events in the transcript that never got their 200 (the process died before answering)."""
    stored = {
        m.external_id
        for messages in (await _transcripts(database_url)).values()
        for m in messages
        if m.direction == "in"
    }
    return sum(1 for e in events if not e.acked and e.message_id in stored)


def _reply_duplicates(fake: FakeLineApi) -> int:
    """Messages LINE accepted by reply whose token the hub presented again later.

    A reply token is single-use: a hub that presents an accepted token again did not learn
    that its reply went through (killed, or the database gone, before recording it), and
    pushes the same messages after LINE answers "Invalid reply token".
    """
    accepted: dict[str, int] = {}
    presented_again: set[str] = set()
    for request in fake.requests("reply"):
        token = request.json.get("replyToken") if isinstance(request.json, dict) else None
        if not isinstance(token, str):
            continue
        if token in accepted:
            presented_again.add(token)
        elif request.status == 200:
            accepted[token] = len(request.json["messages"])
    return sum(accepted[token] for token in presented_again)


async def audit(database_url: str, fake: FakeLineApi, events: Sequence[SentEvent]) -> Audit:
    transcripts = await _transcripts(database_url)
    acked = [e for e in events if e.acked]
    inbound_by_external: dict[str, list[Message]] = collections.defaultdict(list)
    answers_to: dict[int, list[Message]] = collections.defaultdict(list)
    for messages in transcripts.values():
        for message in messages:
            if message.direction == "in" and message.external_id:
                inbound_by_external[message.external_id].append(message)
            elif message.direction == "out" and message.in_reply_to is not None:
                answers_to[message.in_reply_to].append(message)
    unanswered = []
    for sent in acked:
        stored = inbound_by_external.get(sent.message_id, [])
        answers = [a for m in stored for a in answers_to[m.id]]
        if not answers or any(a.delivery_status != DeliveryStatus.SENT for a in answers):
            unanswered.append(sent.event_id)
    recorded = accepted = duplicates = 0
    missing: dict[str, int] = {}
    for user_id in {e.user_id for e in events}:
        sent_here = sum(
            1
            for m in transcripts.get(user_id, [])
            if m.direction == "out" and m.delivery_status == DeliveryStatus.SENT
        )
        accepted_here = sum(len(d.messages) for d in fake.deliveries(user_id))
        recorded += sent_here
        accepted += accepted_here
        if accepted_here < sent_here:
            missing[user_id] = sent_here - accepted_here
        duplicates += max(0, accepted_here - sent_here)
    not_final = sum(
        1
        for messages in transcripts.values()
        for m in messages
        if m.direction == "out" and m.delivery_status == DeliveryStatus.PENDING
    )
    return Audit(
        events=len(events),
        acked=len(acked),
        stored=sum(1 for e in acked if inbound_by_external.get(e.message_id)),
        stored_twice=[e.event_id for e in events if len(inbound_by_external.get(e.message_id, [])) > 1],
        unanswered=unanswered,
        answers_recorded=recorded,
        answers_accepted=accepted,
        missing_per_user=missing,
        duplicates=duplicates,
        explained_duplicates=_reply_duplicates(fake),
        pushes_refused_by_retry_key=sum(1 for r in fake.requests("push") if r.status == 409),
        not_final=not_final,
    )


async def settled_audit(database_url: str, fake: FakeLineApi, events: Sequence[SentEvent]) -> Audit:
    """Wait until every acked event is answered and nothing is pending, then audit once more."""

    async def settled() -> Audit | None:
        result = await audit(database_url, fake, events)
        return result if not result.unanswered and not result.not_final else None

    with contextlib.suppress(AssertionError):
        await wait_for(settled, timeout=SETTLE_TIMEOUT, interval=0.5)
    await asyncio.sleep(1.0)  # let a (wrong) late second delivery land before counting
    return await audit(database_url, fake, events)


def assert_nothing_lost(result: Audit) -> None:
    assert result.stored == result.acked, "an event acknowledged with 200 is not in the transcript"
    assert result.stored_twice == [], "a redelivered event was stored twice"
    assert result.unanswered == [], f"acknowledged events never answered: {result.unanswered[:10]}"
    assert result.missing_per_user == {}, "answers recorded as sent that LINE never accepted"
    assert result.not_final == 0


def assert_duplicates_explained(result: Audit, in_flight_limit: int) -> None:
    """The only duplicate allowed: a reply LINE accepted in the instant before the hub could record it."""
    assert result.duplicates == result.explained_duplicates, "a duplicate that is not a lost reply outcome"
    assert result.duplicates <= in_flight_limit, "more duplicates than sends can be in flight at once"
