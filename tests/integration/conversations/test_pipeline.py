"""The durable pipeline on SQLite and PostgreSQL: once, in order, and resumed after a crash."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update

from app.conversations import outbox, service, work_queue, worker
from app.conversations.intake import store_inbound
from app.conversations.models import Conversation, ConversationState, Message, WorkItem, WorkStatus
from app.conversations.pipeline import Handled
from app.db.engine import create_engine, create_sessionmaker
from app.db.migrate import run_migrations
from app.db.schema import utcnow
from app.services import Services
from channels.base import Channel, InboundKind, InboundMessage
from nlu.client import NluClient, Prediction
from tests.conftest import make_settings, running_app, wait_for


async def _new_session(client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    response = await client.post("/api/webchat/sessions")
    assert response.status_code == 201
    body = response.json()
    return body["session_id"], {"Authorization": f"Bearer {body['token']}"}


async def _messages(
    client: httpx.AsyncClient, session_id: str, headers: dict[str, str]
) -> list[dict[str, object]]:
    response = await client.get(f"/api/webchat/sessions/{session_id}/messages", headers=headers)
    assert response.status_code == 200
    messages: list[dict[str, object]] = response.json()["messages"]
    return messages


def _inbound(user: str, key: str, text: str) -> InboundMessage:
    return InboundMessage(
        channel=Channel.WEBCHAT,
        dedupe_key=key,
        user_id=user,
        kind=InboundKind.TEXT,
        timestamp=utcnow(),
        text=text,
    )


class TestAnswering:
    async def test_thai_question_gets_the_knowledge_base_answer(self, client: httpx.AsyncClient) -> None:
        session_id, headers = await _new_session(client)
        posted = await client.post(
            f"/api/webchat/sessions/{session_id}/messages",
            json={"text": "จดทะเบียนบริษัทออนไลน์ได้ไหม", "client_message_id": "c1"},
            headers=headers,
        )
        assert posted.status_code == 202

        async def answered() -> list[dict[str, object]]:
            return [m for m in await _messages(client, session_id, headers) if m["direction"] == "out"]

        replies = await wait_for(answered)
        assert replies[0]["sender"] == "bot"
        assert "http" in str(replies[0]["text"])  # an answer links its official source

    async def test_request_for_a_person_escalates(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        session_id, headers = await _new_session(client)
        await client.post(
            f"/api/webchat/sessions/{session_id}/messages",
            json={"text": "ขอคุยกับเจ้าหน้าที่ครับ", "client_message_id": "h1"},
            headers=headers,
        )

        async def reply() -> list[dict[str, object]]:
            return [m for m in await _messages(client, session_id, headers) if m["direction"] == "out"]

        replies = await wait_for(reply)
        assert "กำลังส่งต่อให้เจ้าหน้าที่" in str(replies[0]["text"])
        async with services.sessionmaker() as session:
            state = await session.scalar(select(Conversation.state))
        assert state == ConversationState.WAITING


class TestIdempotency:
    async def test_same_client_message_id_is_stored_and_answered_once(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        session_id, headers = await _new_session(client)
        body = {"text": "สวัสดีครับ", "client_message_id": "same"}
        first = await client.post(f"/api/webchat/sessions/{session_id}/messages", json=body, headers=headers)
        second = await client.post(f"/api/webchat/sessions/{session_id}/messages", json=body, headers=headers)
        assert first.status_code == second.status_code == 202
        assert first.json()["message_id"] == second.json()["message_id"]

        async def answered() -> bool:
            return any(m["direction"] == "out" for m in await _messages(client, session_id, headers))

        await wait_for(answered)
        messages = await _messages(client, session_id, headers)
        assert [m["direction"] for m in messages] == ["in", "out"]


class TestOrdering:
    async def test_quick_messages_of_one_conversation_are_answered_in_order(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        session_id, headers = await _new_session(client)
        for n, text in enumerate(["สวัสดีครับ", "ขอบคุณมากครับ", "ลาก่อนครับ"]):
            await client.post(
                f"/api/webchat/sessions/{session_id}/messages",
                json={"text": text, "client_message_id": f"m{n}"},
                headers=headers,
            )

        async def three_replies() -> list[dict[str, object]] | None:
            replies = [m for m in await _messages(client, session_id, headers) if m["direction"] == "out"]
            return replies if len(replies) >= 3 else None

        replies = await wait_for(three_replies)
        responses = services.responses
        assert [r["text"] for r in replies] == [responses.greet, responses.thanks, responses.goodbye]


class TestCrashRecovery:
    async def test_items_accepted_before_a_crash_are_answered_after_restart(
        self, database_url: str, tmp_path: Path
    ) -> None:
        await _migrate(database_url)
        engine = create_engine(database_url)
        sessionmaker = create_sessionmaker(engine)
        # Accepted and stored (the webhook answered 200), then the process died: one item never
        # claimed, one claimed by a worker that died mid-answer (its lease still held).
        async with sessionmaker() as session, session.begin():
            await store_inbound(session, _inbound("citizen-a", "k1", "สวัสดีครับ"))
            await store_inbound(session, _inbound("citizen-b", "k2", "ขอบคุณค่ะ"))
        async with sessionmaker() as session, session.begin():
            now = utcnow()
            claimed = await session.run_sync(
                work_queue.claim_work_items, "dead-worker", 1, now + dt.timedelta(seconds=1)
            )
        assert len(claimed) == 1
        await engine.dispose()

        settings = make_settings(database_url, tmp_path, GOVCHAT_LEASE_SECONDS=1)
        async with running_app(settings) as app:
            sm = app.state.services.sessionmaker

            async def all_done() -> bool:
                async with sm() as session:
                    open_items = await session.scalar(
                        select(func.count()).select_from(WorkItem).where(WorkItem.status != WorkStatus.DONE)
                    )
                    replies = await session.scalar(
                        select(func.count()).select_from(Message).where(Message.direction == "out")
                    )
                return open_items == 0 and replies == 2

            await wait_for(all_done, timeout=30)

    async def test_a_worker_that_lost_its_lease_cannot_finish_the_item(self, database_url: str) -> None:
        await _migrate(database_url)
        engine = create_engine(database_url)
        sessionmaker = create_sessionmaker(engine)
        async with sessionmaker() as session, session.begin():
            await store_inbound(session, _inbound("citizen", "k1", "สวัสดี"))
        now = utcnow()
        async with sessionmaker() as session, session.begin():
            [item_id] = await session.run_sync(
                work_queue.claim_work_items, "slow", 1, now - dt.timedelta(seconds=1)
            )
        async with sessionmaker() as session, session.begin():
            assert await session.run_sync(work_queue.release_expired_leases, utcnow()) == 1
        async with sessionmaker() as session, session.begin():
            assert await session.run_sync(
                work_queue.claim_work_items, "fast", 1, now + dt.timedelta(seconds=60)
            ) == [item_id]
        async with sessionmaker() as session, session.begin():
            assert not await session.run_sync(work_queue.finish_work_item, item_id, "slow", utcnow())
        async with sessionmaker() as session, session.begin():
            assert await session.run_sync(work_queue.finish_work_item, item_id, "fast", utcnow())
        await engine.dispose()

    async def test_a_later_item_waits_for_the_earlier_one_of_its_conversation(
        self, database_url: str
    ) -> None:
        await _migrate(database_url)
        engine = create_engine(database_url)
        sessionmaker = create_sessionmaker(engine)
        async with sessionmaker() as session, session.begin():
            await store_inbound(session, _inbound("citizen", "k1", "หนึ่ง"))
            await store_inbound(session, _inbound("citizen", "k2", "สอง"))
            await store_inbound(session, _inbound("other", "k3", "สาม"))
        now = utcnow()
        later = now + dt.timedelta(seconds=60)
        async with sessionmaker() as session, session.begin():
            first = await session.run_sync(work_queue.claim_work_items, "w1", 10, later)
        async with sessionmaker() as session:
            keys = (await session.scalars(select(WorkItem.dedupe_key).where(WorkItem.id.in_(first)))).all()
        assert sorted(keys) == ["k1", "k3"]  # k2 waits behind k1
        async with sessionmaker() as session, session.begin():
            assert await session.run_sync(work_queue.claim_work_items, "w2", 10, later) == []
            await session.execute(
                update(WorkItem).where(WorkItem.dedupe_key == "k1").values(status=WorkStatus.DONE)
            )
        async with sessionmaker() as session, session.begin():
            assert len(await session.run_sync(work_queue.claim_work_items, "w2", 10, later)) == 1
        await engine.dispose()


class _WrappedNlu:
    """The real NLU, with ``parse`` changed by a subclass (everything else passed through)."""

    def __init__(self, real: NluClient) -> None:
        self.real = real
        self.name = real.name

    async def parse(self, text: str) -> Prediction:
        return await self.real.parse(text)

    async def is_ready(self) -> bool:
        return await self.real.is_ready()

    async def aclose(self) -> None:
        await self.real.aclose()


class _CrashingOn(_WrappedNlu):
    """One text always crashes it (a bug the bot cannot get past)."""

    def __init__(self, real: NluClient, poison: str) -> None:
        super().__init__(real)
        self.poison = poison

    async def parse(self, text: str) -> Prediction:
        if self.poison in text:
            raise RuntimeError("simulated NLU bug")
        return await self.real.parse(text)


class TestPoisonMessages:
    async def test_an_event_that_always_crashes_is_failed_and_does_not_block_its_conversation(
        self, client: httpx.AsyncClient, services: Services, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(worker, "ERROR_PAUSE_SECONDS", 0.01)
        services.workers.pipeline.nlu = _CrashingOn(services.workers.pipeline.nlu, "ข้อความพิษ")
        session_id, headers = await _new_session(client)
        for n, text in enumerate(["ข้อความพิษ", "สวัสดีครับ"]):
            await client.post(
                f"/api/webchat/sessions/{session_id}/messages",
                json={"text": text, "client_message_id": f"p{n}"},
                headers=headers,
            )

        async def greeted() -> list[dict[str, object]]:
            return [m for m in await _messages(client, session_id, headers) if m["direction"] == "out"]

        replies = await wait_for(greeted, timeout=30)
        assert [r["text"] for r in replies] == [services.responses.greet]
        async with services.sessionmaker() as session:
            poisoned = await session.scalar(select(WorkItem).where(WorkItem.dedupe_key.like("%p0")))
        assert poisoned is not None
        assert poisoned.status == WorkStatus.FAILED
        assert poisoned.attempts == worker.MAX_ATTEMPTS
        assert poisoned.error is not None and "simulated NLU bug" in poisoned.error
        # The citizen's words are kept for officers even though the bot could not handle them.
        texts = [m["text"] for m in await _messages(client, session_id, headers) if m["direction"] == "in"]
        assert texts == ["ข้อความพิษ", "สวัสดีครับ"]


class _SlowNlu(_WrappedNlu):
    """Answers only after ``delay`` seconds (Rasa at the edge of its timeout)."""

    def __init__(self, real: NluClient, delay: float) -> None:
        super().__init__(real)
        self.delay = delay

    async def parse(self, text: str) -> Prediction:
        await asyncio.sleep(self.delay)
        return await self.real.parse(text)


class TestLeaseRenewal:
    async def test_an_item_handled_for_longer_than_its_lease_stays_with_its_worker(
        self, database_url: str, tmp_path: Path
    ) -> None:
        settings = make_settings(database_url, tmp_path, GOVCHAT_LEASE_SECONDS=0.6)
        async with running_app(settings) as app:
            services: Services = app.state.services
            services.workers.pipeline.nlu = _SlowNlu(services.workers.pipeline.nlu, delay=2.0)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
                session_id, headers = await _new_session(client)
                await client.post(
                    f"/api/webchat/sessions/{session_id}/messages",
                    json={"text": "สวัสดีครับ", "client_message_id": "slow"},
                    headers=headers,
                )

                async def processing() -> bool:
                    async with services.sessionmaker() as session:
                        status = await session.scalar(select(WorkItem.status))
                    return status == WorkStatus.PROCESSING

                await wait_for(processing, timeout=10)
                # Well past the 0.6 s lease, with the answer not ready yet: what another hub's
                # reaper would do must find no expired lease to hand over.
                for _ in range(3):
                    await asyncio.sleep(0.4)
                    async with services.sessionmaker() as session, session.begin():
                        assert await session.run_sync(work_queue.release_expired_leases, utcnow()) == 0

                async def replies() -> list[dict[str, object]]:
                    return [
                        m for m in await _messages(client, session_id, headers) if m["direction"] == "out"
                    ]

                answered = await wait_for(replies, timeout=15)
                await asyncio.sleep(0.5)
                assert len(await replies()) == len(answered) == 1


class TestReplyLease:
    """The worker that writes a reply sends it itself, unless an older reply must go first."""

    async def _handle_as(
        self, services: Services, key: str, *, older_reply_pending: bool
    ) -> tuple[Handled | None, Message]:
        sm = services.sessionmaker
        async with sm() as session, session.begin():
            # Leased in the storing transaction, so the app's own workers never see it pending.
            accepted = await store_inbound(session, _inbound("citizen-lease", key, "สวัสดีครับ"))
            assert accepted.work_item_id is not None and accepted.conversation_id is not None
            await session.execute(
                update(WorkItem)
                .where(WorkItem.id == accepted.work_item_id)
                .values(
                    status=WorkStatus.PROCESSING,
                    locked_by="test-worker",
                    lease_until=utcnow() + dt.timedelta(minutes=5),
                )
            )
            if older_reply_pending:  # waiting for its retry, a minute from now
                conversation = await session.get(Conversation, accepted.conversation_id)
                assert conversation is not None
                older = service.add_outbound(session, conversation, "คำตอบก่อนหน้า")
                older.next_attempt_at = utcnow() + dt.timedelta(minutes=1)
        handled = await services.workers.pipeline.handle(accepted.work_item_id, "test-worker")
        async with sm() as session:
            reply = await session.scalar(
                select(Message).where(Message.in_reply_to.is_not(None)).order_by(Message.id.desc()).limit(1)
            )
        assert reply is not None and reply.text == services.responses.greet
        return handled, reply

    async def test_the_first_reply_is_leased_to_the_worker_that_wrote_it(self, services: Services) -> None:
        handled, reply = await self._handle_as(services, "lease-1", older_reply_pending=False)
        assert handled is not None and handled.deliver_now is not None and not handled.more_replies
        assert [m.id for m in handled.deliver_now.messages] == [reply.id]
        assert reply.delivery_locked_by == "test-worker"
        now = utcnow()
        async with services.sessionmaker() as session, session.begin():
            assert await session.run_sync(outbox.claim_delivery_head, "claimer", now, now, 10) == []

    async def test_a_reply_behind_an_older_pending_one_is_left_to_the_claimer(
        self, services: Services
    ) -> None:
        handled, reply = await self._handle_as(services, "lease-2", older_reply_pending=True)
        assert handled is not None and handled.deliver_now is None and handled.more_replies
        assert reply.delivery_locked_by is None and reply.delivery_lease_until is None


async def _migrate(database_url: str) -> None:
    await asyncio.to_thread(run_migrations, database_url)
