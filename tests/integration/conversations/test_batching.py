"""Work done for several messages at once: group-committed intake and batched handling.

Batching only shares database round trips; each message must come out exactly as if it
had been handled alone, and one message's failure must stay its own.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.conversations import chats, intake, worker
from app.conversations.intake import Accepted, GroupCommit, store_inbound_batch
from app.conversations.models import Citizen, Conversation, Message, WorkItem, WorkStatus
from app.db.schema import utcnow
from app.db.transactions import Transactions
from app.services import Services
from channels.base import Attachment, Channel, InboundKind, InboundMessage
from tests.conftest import wait_for
from tests.integration.conversations.test_pipeline import _CrashingOn

T = TypeVar("T")


def _event(
    user: str, key: str, text: str, kind: InboundKind = InboundKind.TEXT, channel: Channel = Channel.LINE
) -> InboundMessage:
    return InboundMessage(
        channel=channel,
        dedupe_key=key,
        user_id=user,
        kind=kind,
        timestamp=utcnow(),
        text=text,
        external_message_id=f"ext-{key}",
    )


async def _count(services: Services, model: Any, *where: Any) -> int:
    async with services.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


class TestStoreInboundBatch:
    async def test_each_new_citizen_gets_one_conversation_and_each_message_its_work_item(
        self, services: Services
    ) -> None:
        events = [
            _event("U-new-1", "b1", "สวัสดีครับ"),
            _event("U-new-2", "b2", "ขอบคุณค่ะ"),
            _event("U-new-1", "b3", "จดทะเบียนบริษัทออนไลน์ได้ไหม"),
            _event("U-new-2", "b4", "", kind=InboundKind.FOLLOW),
        ]
        async with services.sessionmaker() as session, session.begin():
            accepted = await store_inbound_batch(session, events)

        assert accepted[0].conversation_id == accepted[2].conversation_id != accepted[1].conversation_id
        assert accepted[1].conversation_id == accepted[3].conversation_id
        assert all(a.work_item_id is not None for a in accepted)
        assert accepted[3].message_id is None  # a follow is an event, not something said
        async with services.sessionmaker() as session:
            for event, result in zip(events[:3], accepted[:3], strict=True):
                item = await session.get(WorkItem, result.work_item_id)
                message = await session.get(Message, result.message_id)
                assert item is not None and message is not None
                assert item.message_id == message.id and item.conversation_id == result.conversation_id
                assert (message.text, message.external_id) == (event.text, event.external_message_id)
                conversation = await session.get(Conversation, result.conversation_id)
                assert conversation is not None and conversation.last_inbound_at is not None
        assert await _count(services, Citizen, Citizen.external_id.in_(["U-new-1", "U-new-2"])) == 2

    async def test_what_a_citizen_sent_is_stored_whole_with_its_event(self, services: Services) -> None:
        sticker = Attachment(kind="sticker", external_id="st-1", meta={"packageId": "446", "ชื่อ": "ยิ้ม"})
        events = [
            _event("U-whole", "w1", 'ข้อความ "มีเครื่องหมาย" \\ และ\nขึ้นบรรทัด'),
            dataclasses.replace(
                _event("U-whole", "w2", ""), kind=InboundKind.ATTACHMENT, attachments=(sticker,)
            ),
        ]
        async with services.sessionmaker() as session, session.begin():
            accepted = await store_inbound_batch(session, events, ["client-1", None])

        async with services.sessionmaker() as session:
            items = [await session.get(WorkItem, a.work_item_id) for a in accepted]
            messages = [await session.get(Message, a.message_id) for a in accepted]
        for inbound, item, message in zip(events, items, messages, strict=True):
            assert item is not None and message is not None
            assert item.payload == intake.inbound_to_payload(inbound)
            assert (item.status, item.finished_at, item.message_id) == (WorkStatus.PENDING, None, message.id)
            assert (message.direction, message.sender, message.text) == ("in", "citizen", inbound.text)
            assert message.created_at >= item.received_at
        said, sent = messages
        assert said is not None and sent is not None
        assert (said.client_message_id, sent.client_message_id) == ("client-1", None)
        assert said.id < sent.id
        assert sent.extra == {"attachments": [dataclasses.asdict(sticker)]}

    async def test_a_redelivery_is_stored_once_within_a_batch_and_across_batches(
        self, services: Services
    ) -> None:
        async with services.sessionmaker() as session, session.begin():
            first = await store_inbound_batch(
                session, [_event("U-r", "r1", "หนึ่ง"), _event("U-r", "r1", "หนึ่ง")]
            )
        async with services.sessionmaker() as session, session.begin():
            again = await store_inbound_batch(
                session, [_event("U-r", "r1", "หนึ่ง"), _event("U-r", "r2", "สอง")]
            )

        assert first[0].work_item_id is not None and first[1].work_item_id is None
        assert again[0].work_item_id is None and again[1].work_item_id is not None
        assert await _count(services, WorkItem, WorkItem.dedupe_key.in_(["r1", "r2"])) == 2
        assert await _count(services, Message, Message.external_id.in_(["ext-r1", "ext-r2"])) == 2

    async def test_a_citizen_stored_before_without_a_conversation_gets_one(self, services: Services) -> None:
        async with services.sessionmaker() as session, session.begin():
            session.add(Citizen(id="c-existing", channel="line", external_id="U-known"))
        async with services.sessionmaker() as session, session.begin():
            accepted = await store_inbound_batch(
                session, [_event("U-known", "e1", "สวัสดี"), _event("U-fresh", "e2", "สวัสดี")]
            )
        async with services.sessionmaker() as session:
            known = await session.get(Conversation, accepted[0].conversation_id)
            assert known is not None and known.citizen_id == "c-existing"
        assert await _count(services, Citizen, Citizen.external_id == "U-known") == 1
        assert await _count(services, Conversation) == 2

    async def test_concurrent_first_contacts_share_one_citizen_and_conversation_each(
        self, services: Services
    ) -> None:
        """Transactions racing to create the same citizens read back what the other created."""
        users = [f"U-race-{n}" for n in range(8)]

        async def first_contact(attempt: int) -> list[str | None]:
            async with services.sessionmaker() as session, session.begin():
                batch = [_event(user, f"race-{attempt}-{user}", "สวัสดี") for user in users]
                accepted = await store_inbound_batch(session, batch)
                await asyncio.sleep(0.05)  # hold the new rows uncommitted while the others insert
                return [a.conversation_id for a in accepted]

        results = await asyncio.gather(*(first_contact(n) for n in range(3)))

        assert results[0] == results[1] == results[2]
        assert all(results[0])
        assert await _count(services, Citizen, Citizen.external_id.in_(users)) == len(users)
        assert await _count(services, Conversation) == len(users)

    async def test_a_citizen_stored_without_a_conversation_gets_one_with_the_event(
        self, services: Services
    ) -> None:
        # On PostgreSQL the intake's one statement leaves such a chat out; the race-safe steps open it.
        async with services.sessionmaker() as session, session.begin():
            session.add(Citizen(id="c-alone", channel="line", external_id="U-alone"))
        group = GroupCommit(services.intake.transactions)

        [alone, known] = await group.store(
            [_event("U-alone", "alone-1", "สวัสดี"), _event("U-k", "k-1", "ครับ")]
        )

        async with services.sessionmaker() as session:
            conversation = await session.get(Conversation, alone.conversation_id)
            item = await session.get(WorkItem, alone.work_item_id)
            message = await session.get(Message, alone.message_id)
        assert conversation is not None and conversation.citizen_id == "c-alone"
        assert conversation.last_inbound_at is not None
        assert (
            item is not None
            and item.conversation_id == conversation.id
            and item.message_id == alone.message_id
        )
        assert message is not None and message.conversation_id == conversation.id and message.text == "สวัสดี"
        assert known.work_item_id is not None and known.conversation_id not in (None, conversation.id)
        await _wait_answered(services, ["alone-1", "k-1"])

    async def test_chats_are_found_by_channel_and_user_together(self, services: Services) -> None:
        # The same user ids on two channels: four chats, and a lookup of two must return just those two.
        events = [
            _event(user, f"k-{channel}-{user}", "สวัสดี", channel=channel)
            for channel in (Channel.LINE, Channel.FACEBOOK)
            for user in ("U-a", "U-b")
        ]
        accepted = await GroupCommit(services.intake.transactions).store(events)
        conversation_of = {
            (e.channel.value, e.user_id): a.conversation_id for e, a in zip(events, accepted, strict=True)
        }
        wanted = {("line", "U-a"), ("facebook", "U-b")}

        found = await services.intake.transactions.run(
            lambda session: chats.conversation_ids_for(session, wanted)
        )

        assert found == {key: conversation_of[key] for key in wanted}


class TestGroupCommit:
    async def test_requests_arriving_together_share_one_transaction(self, services: Services) -> None:
        counting = _CountingTransactions(services.intake.transactions)
        group = GroupCommit(counting)
        requests = [[_event(f"U-g{n}", f"g{n}", f"ข้อความ {n}")] for n in range(10)]

        results = await asyncio.gather(*(group.store(events) for events in requests))

        assert [len(r) for r in results] == [1] * 10
        assert len({r[0].work_item_id for r in results}) == 10
        assert counting.opened < 10  # the first alone at most, the rest together
        await _wait_answered(services, [f"g{n}" for n in range(10)])

    async def test_requests_soon_after_a_commit_wait_and_share_the_next(self, services: Services) -> None:
        counting = _CountingTransactions(services.intake.transactions)
        group = GroupCommit(counting, interval=0.5)
        first = await group.store([_event("U-p0", "p0", "ข้อความแรก")])  # after a quiet spell: at once
        assert counting.opened == 1

        async def one_after_another(n: int) -> list[Accepted]:
            await asyncio.sleep(0.02 * n)  # each would find nothing being stored, and go alone
            return await group.store([_event(f"U-p{n}", f"p{n}", f"ข้อความ {n}")])

        later = await asyncio.gather(*(one_after_another(n) for n in range(1, 5)))

        assert counting.opened == 2
        assert len({a[0].work_item_id for a in [first, *later]}) == 5
        await _wait_answered(services, [f"p{n}" for n in range(5)])

    async def test_a_failing_request_fails_alone(
        self, services: Services, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        real = intake.queue_inbound

        def failing_on_poison(session: Session, batch: Sequence[InboundMessage]) -> Any:
            if any(event.text == "พิษ" for event in batch):
                raise RuntimeError("simulated storage failure")
            return real(session, batch)

        monkeypatch.setattr(intake, "queue_inbound", failing_on_poison)
        group = GroupCommit(services.intake.transactions)
        texts = ["ก่อน", "พิษ", "หลัง"]

        results = await asyncio.gather(
            *(group.store([_event(f"U-f{n}", f"f{n}", text)]) for n, text in enumerate(texts)),
            return_exceptions=True,
        )

        assert isinstance(results[1], RuntimeError)
        assert all(isinstance(r, list) and r[0].work_item_id is not None for r in (results[0], results[2]))
        assert await _count(services, WorkItem, WorkItem.dedupe_key.in_(["f0", "f1", "f2"])) == 2


class TestBatchedHandling:
    async def test_items_of_several_conversations_are_answered_together(self, services: Services) -> None:
        keys = [f"h{n}" for n in range(4)]
        async with services.sessionmaker() as session, session.begin():
            accepted = await store_inbound_batch(
                session, [_event(f"U-h{n}", k, "สวัสดีครับ") for n, k in enumerate(keys)]
            )
            ids = [a.work_item_id for a in accepted if a.work_item_id is not None]
            await _lease(session, ids[:3], "batch-worker")
            await _lease(session, ids[3:], "someone-else")  # lost to another worker

        handled = await services.workers.pipeline.handle_batch(ids, "batch-worker")

        assert handled[ids[3]] is None
        for item_id in ids[:3]:
            result = handled[item_id]
            assert result is not None and result.deliver_now is not None
            [reply] = result.deliver_now.messages
            assert reply.text == services.responses.greet and reply.delivery_locked_by == "batch-worker"
        async with services.sessionmaker() as session:
            statuses = dict(
                (
                    await session.execute(select(WorkItem.id, WorkItem.status).where(WorkItem.id.in_(ids)))
                ).all()
            )
        assert [statuses[i] for i in ids] == [WorkStatus.DONE] * 3 + [WorkStatus.PROCESSING]
        conversation_ids = {a.conversation_id for a in accepted}
        assert (
            await _count(
                services, Message, Message.direction == "out", Message.conversation_id.in_(conversation_ids)
            )
            == 3
        )

    async def test_one_crashing_item_does_not_hold_back_the_others_of_its_batch(
        self, services: Services, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(worker, "ERROR_PAUSE_SECONDS", 0.01)
        services.workers.pipeline.nlu = _CrashingOn(services.workers.pipeline.nlu, "ข้อความพิษ")
        texts = ["สวัสดีครับ", "ข้อความพิษ", "ขอบคุณค่ะ", "สวัสดีค่ะ"]
        keys = [f"c{n}" for n in range(len(texts))]
        async with services.sessionmaker() as session, session.begin():  # stored together: one claim
            await store_inbound_batch(
                session, [_event(f"U-c{n}", k, t) for n, (k, t) in enumerate(zip(keys, texts, strict=True))]
            )
        services.workers.notify_work()

        await _wait_answered(services, [k for k, t in zip(keys, texts, strict=True) if t != "ข้อความพิษ"])

        async def given_up() -> WorkItem | None:
            async with services.sessionmaker() as session:
                item = await session.scalar(select(WorkItem).where(WorkItem.dedupe_key == "c1"))
            return item if item is not None and item.status == WorkStatus.FAILED else None

        poisoned = await wait_for(given_up, timeout=30)
        assert poisoned.attempts == worker.MAX_ATTEMPTS
        for key in keys:  # every other citizen got exactly one answer, from the first claim
            expected = 0 if key == "c1" else 1
            assert await _replies_to(services, key) == expected
        async with services.sessionmaker() as session:
            attempts = dict((await session.execute(select(WorkItem.dedupe_key, WorkItem.attempts))).all())
        assert [attempts[k] for k in keys if k != "c1"] == [1, 1, 1]


class TestBatchedDelivery:
    async def test_what_was_sent_is_recorded_even_when_another_send_of_the_batch_crashes(
        self, services: Services, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        keys = ["d0", "d1"]
        async with services.sessionmaker() as session, session.begin():
            accepted = await store_inbound_batch(
                session,  # web chat: the channel this test app has an adapter for
                [_event(f"U-d{n}", k, "สวัสดีครับ", channel=Channel.WEBCHAT) for n, k in enumerate(keys)],
            )
            ids = [a.work_item_id for a in accepted if a.work_item_id is not None]
            await _lease(session, ids, "batch-worker")
        handled = await services.workers.pipeline.handle_batch(ids, "batch-worker")
        leased = [h.deliver_now for h in handled.values() if h is not None and h.deliver_now is not None]
        assert len(leased) == 2
        deliverer = services.workers.deliverer
        real_attempt = deliverer._attempt
        crashing = leased[1].conversation.id

        async def attempt(batch: Any) -> Any:
            if batch.conversation.id == crashing:
                raise RuntimeError("simulated crash while recording a failure")
            return await real_attempt(batch)

        monkeypatch.setattr(deliverer, "_attempt", attempt)

        with pytest.raises(RuntimeError, match="simulated crash"):
            await deliverer.send_all(leased)

        async with services.sessionmaker() as session:
            statuses = {
                m.conversation_id: m.delivery_status
                for m in await session.scalars(
                    select(Message).where(Message.id.in_([b.messages[0].id for b in leased]))
                )
            }
        assert statuses == {leased[0].conversation.id: "sent", crashing: "pending"}


class _CountingTransactions:
    """The hub's own intake transactions, counted."""

    def __init__(self, real: Transactions) -> None:
        self.real = real
        self.opened = 0

    async def run(self, work: Callable[[Session], T]) -> T:
        self.opened += 1
        return await self.real.run(work)

    async def run_autocommit(self, work: Callable[[Session], T]) -> T:
        self.opened += 1
        return await self.real.run_autocommit(work)

    async def aclose(self) -> None:
        pass


async def _lease(session: AsyncSession, ids: Sequence[int], owner: str) -> None:
    await session.execute(
        update(WorkItem)
        .where(WorkItem.id.in_(ids))
        .values(status=WorkStatus.PROCESSING, locked_by=owner, lease_until=utcnow() + dt.timedelta(minutes=5))
    )


async def _replies_to(services: Services, key: str) -> int:
    async with services.sessionmaker() as session:
        item = await session.scalar(select(WorkItem).where(WorkItem.dedupe_key == key))
        assert item is not None and item.message_id is not None
        return int(
            await session.scalar(
                select(func.count()).select_from(Message).where(Message.in_reply_to == item.message_id)
            )
            or 0
        )


async def _wait_answered(services: Services, keys: Sequence[str]) -> None:
    async def answered() -> bool:
        return all([await _replies_to(services, key) >= 1 for key in keys])

    await wait_for(answered, timeout=30)
