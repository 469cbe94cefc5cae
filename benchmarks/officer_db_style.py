"""One officer request's database work, two ways: an async session, or one sync unit of work.

The conversation code runs its transactions as sync units (``app.db.Transactions``: on SQLite
each unit whole in one call on the event loop, ``SqliteTransactions``; on PostgreSQL in an
async session through ``run_sync``, ``SessionTransactions``). The officer code used async
sessions, each statement awaited. This times the same statements both ways, in-process:

- ``claim``: what ``POST .../claim`` does in its transaction (lock the conversation, find its
  open escalation, take it, queue "an officer joined", audit), on a waiting conversation;
- ``queue``: what ``GET /api/officer/queue`` reads (waiting conversations with each one's
  last citizen text, then the questions), over ``--waiting`` waiting conversations.

``--busy N`` keeps N tasks on the event loop that each spin 1 ms between yields, as the
workers' NLU and sends do under load: an awaited statement then waits for the loop between
its steps. Prints milliseconds per request (median, p90 of the wall clock) and, without busy
tasks, the process's CPU time per request (all threads: aiosqlite's too), which a loaded machine
changes less than the wall clock. Not a test.

    .venv/bin/python benchmarks/officer_db_style.py [--database-url postgresql+asyncpg://...]
        [--requests 300] [--waiting 50] [--busy 0]    # default: a fresh SQLite file
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import select, update  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from app.conversations import service as conversations  # noqa: E402
from app.conversations.models import Citizen, Conversation, ConversationState, Message, Sender  # noqa: E402
from app.db.engine import create_engine, create_sessionmaker, is_sqlite  # noqa: E402
from app.db.migrate import run_migrations  # noqa: E402
from app.db.schema import utcnow  # noqa: E402
from app.db.sqlite_transactions import SqliteTransactions  # noqa: E402
from app.db.transactions import SessionTransactions, Transactions  # noqa: E402
from app.officers.models import AuditRecord, Officer  # noqa: E402

JOINED = "เจ้าหน้าที่รับเรื่องแล้วค่ะ"
ASYNC, UNIT = "async session", "sync unit"


def _lock(conversation_id: str) -> Any:
    return (
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _read(conversation_id: str) -> Any:
    return (
        select(Conversation)
        .where(Conversation.id == conversation_id)
        .execution_options(populate_existing=True)
    )


def _audit(officer_id: str, cid: str, conversation: Conversation) -> AuditRecord:
    detail = {"department": conversation.department}
    return AuditRecord(officer_id=officer_id, action="claim", target=cid, detail=detail, created_at=utcnow())


def _take(conversation: Conversation, officer_id: str, escalation: Any) -> None:
    conversation.state = ConversationState.WITH_OFFICER
    conversation.assigned_to = officer_id
    if escalation is not None:
        escalation.claimed_at = utcnow()
        escalation.claimed_by = officer_id


async def claim_in_async_session(
    sessions: async_sessionmaker[AsyncSession], officer_id: str, cid: str
) -> None:
    async with sessions() as session, session.begin():
        await session.execute(_lock(cid))
        conversation = await session.scalar(_read(cid))
        assert conversation is not None
        escalation = await session.run_sync(conversations.open_escalation, conversation)
        _take(conversation, officer_id, escalation)
        conversations.add_outbound(session, conversation, JOINED)
        session.add(_audit(officer_id, cid, conversation))
        await session.flush()


def claim_unit(session: Session, officer_id: str, cid: str) -> None:
    session.execute(_lock(cid))
    conversation = session.scalar(_read(cid))
    assert conversation is not None
    escalation = conversations.open_escalation(session, conversation)
    _take(conversation, officer_id, escalation)
    session.add(conversations.new_outbound(conversation, JOINED))
    session.add(_audit(officer_id, cid, conversation))
    session.flush()


def _waiting() -> Any:
    last_text = (
        select(Message.text)
        .where(Message.conversation_id == Conversation.id, Message.sender == Sender.CITIZEN)
        .order_by(Message.id.desc())
        .limit(1)
        .correlate(Conversation)
        .scalar_subquery()
    )
    return (
        select(Conversation, last_text)
        .where(Conversation.state == ConversationState.WAITING, Conversation.assigned_to.is_(None))
        .order_by(Conversation.waiting_since, Conversation.id)
    )


def _questions(ids: list[int | None]) -> Any:
    return select(Message.id, Message.text).where(Message.id.in_([i for i in ids if i is not None]))


async def queue_in_async_session(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        rows = (await session.execute(_waiting())).all()
        asked = (await session.execute(_questions([c.question_message_id for c, _ in rows]))).all()
    return len(rows) + len(asked)


def queue_unit(session: Session) -> int:
    rows = session.execute(_waiting()).all()
    asked = session.execute(_questions([c.question_message_id for c, _ in rows])).all()
    return len(rows) + len(asked)


async def seed(sessions: async_sessionmaker[AsyncSession], count: int) -> tuple[str, list[str]]:
    """An officer and ``count`` waiting conversations, each with a citizen question."""
    async with sessions() as session, session.begin():
        officer = Officer(
            username=f"bench-{time.time_ns()}", password_hash="x", role="admin", departments=["*"]
        )
        session.add(officer)
        ids = []
        for number in range(count):
            citizen = Citizen(channel="webchat", external_id=f"bench-{time.time_ns()}-{number}")
            session.add(citizen)
            await session.flush()
            conversation = Conversation(citizen_id=citizen.id, channel="webchat")
            session.add(conversation)
            await session.flush()
            question = Message(
                conversation_id=conversation.id, direction="in", sender=Sender.CITIZEN, text="ขอคุยกับเจ้าหน้าที่"
            )
            session.add(question)
            await session.flush()
            conversation.question_message_id = question.id
            await session.run_sync(conversations.escalate, conversation, "general", "requested")
            ids.append(conversation.id)
    return officer.id, ids


async def timed(call: Awaitable[object]) -> float:
    started = time.perf_counter()
    await call
    return (time.perf_counter() - started) * 1000


async def spin(stop: asyncio.Event) -> None:
    while not stop.is_set():
        until = time.perf_counter() + 0.001
        while time.perf_counter() < until:
            pass
        await asyncio.sleep(0)


def line(name: str, values: list[float], cpu_seconds: float | None) -> str:
    """Wall-clock times per request; CPU per request (all threads) unless busy tasks share it."""
    ordered = sorted(values)
    p90 = ordered[int(len(ordered) * 0.9) - 1]
    cpu = f"   CPU {cpu_seconds * 1000 / len(ordered):6.2f} ms" if cpu_seconds is not None else ""
    return f"{name:34s} median {statistics.median(ordered):7.2f} ms   p90 {p90:7.2f} ms{cpu}   (n={len(ordered)})"


async def run(database_url: str, requests: int, waiting: int, busy: int) -> None:
    await asyncio.to_thread(run_migrations, database_url)
    engine = create_engine(database_url)
    sessions = create_sessionmaker(engine)
    transactions: Transactions = (
        SqliteTransactions(database_url) if is_sqlite(database_url) else SessionTransactions(sessions)
    )
    stop = asyncio.Event()
    spinners = [asyncio.create_task(spin(stop)) for _ in range(busy)]
    try:
        results: dict[str, list[float]] = {}

        async def claim(way: str, officer_id: str, cid: str) -> None:
            if way == ASYNC:
                await claim_in_async_session(sessions, officer_id, cid)
            else:
                await transactions.run(lambda session: claim_unit(session, officer_id, cid))

        async def read_queue(way: str) -> int:
            return await (queue_in_async_session(sessions) if way == ASYNC else transactions.run(queue_unit))

        cpu: dict[str, float] = {}
        for ways in ((ASYNC, UNIT), (UNIT, ASYNC)):  # each way first once
            for way in ways:
                officer_id, ids = await seed(sessions, requests // 2)
                name = f"claim, {way}"
                times = results.setdefault(name, [])
                started = time.process_time()
                for cid in ids:
                    times.append(await timed(claim(way, officer_id, cid)))
                cpu[name] = cpu.get(name, 0.0) + time.process_time() - started
        await seed(sessions, waiting)
        for ways in ((ASYNC, UNIT), (UNIT, ASYNC)):
            for way in ways:
                name = f"queue of {waiting}, {way}"
                times = results.setdefault(name, [])
                started = time.process_time()
                for _ in range(requests // 2):
                    times.append(await timed(read_queue(way)))
                cpu[name] = cpu.get(name, 0.0) + time.process_time() - started
        print(f"{engine.dialect.name}, {busy} busy task(s) on the loop")
        for name, values in results.items():
            print(line(name, values, cpu[name] if not busy else None))
    finally:
        stop.set()
        await asyncio.gather(*spinners)
        await transactions.aclose()
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--waiting", type=int, default=50)
    parser.add_argument("--busy", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        url = args.database_url or f"sqlite+aiosqlite:///{directory}/bench.db"
        asyncio.run(run(url, args.requests, args.waiting, args.busy))


if __name__ == "__main__":
    main()
