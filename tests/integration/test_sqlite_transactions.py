"""SQLite's intake transactions: whole on the event loop, never waiting for SQLite's lock there."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from app.db import SqliteTransactions, create_engine


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "units.db"
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE said (id INTEGER PRIMARY KEY, who TEXT NOT NULL)")
    return path


@pytest.fixture
async def writer(db_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{db_path}", single_connection=True)
    yield engine
    await engine.dispose()


@pytest.fixture
async def transactions(db_path: Path, writer: AsyncEngine) -> AsyncIterator[SqliteTransactions]:
    units = SqliteTransactions(f"sqlite+aiosqlite:///{db_path}", writer=writer)
    yield units
    await units.aclose()


def _say(who: str, threads: list[int] | None = None) -> Callable[[Session], int]:
    def work(session: Session) -> int:
        if threads is not None:
            threads.append(threading.get_ident())
        session.execute(text("INSERT INTO said (who) VALUES (:who)"), {"who": who})
        return int(session.scalar(text("SELECT count(*) FROM said")) or 0)

    return work


def _rows(db_path: Path) -> list[str]:
    with sqlite3.connect(db_path) as connection:
        return [who for (who,) in connection.execute("SELECT who FROM said ORDER BY id")]


async def _ticks_while(task: asyncio.Task[int], seconds: float) -> int:
    """How many times this loop got a turn during ``seconds`` (none: something blocked it)."""
    ticks = 0
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline and not task.done():
        await asyncio.sleep(0.01)
        ticks += 1
    return ticks


async def test_a_unit_runs_whole_on_the_loop_and_commits(
    transactions: SqliteTransactions, db_path: Path
) -> None:
    threads: list[int] = []

    count = await transactions.run(_say("citizen", threads))

    assert count == 1
    assert threads == [threading.get_ident()]
    assert _rows(db_path) == ["citizen"]


async def test_a_unit_waits_until_the_workers_connection_is_free(
    transactions: SqliteTransactions, writer: AsyncEngine, db_path: Path
) -> None:
    threads: list[int] = []
    async with writer.connect() as worker:
        await worker.execute(text("INSERT INTO said (who) VALUES ('worker')"))  # holds SQLite's lock
        unit = asyncio.create_task(transactions.run(_say("citizen", threads)))
        assert await _ticks_while(unit, 0.2) > 5
        assert not unit.done()
        await worker.commit()

    assert await unit == 2
    assert threads == [threading.get_ident()]  # once, on the loop: SQLite's lock was free by then
    assert _rows(db_path) == ["worker", "citizen"]


async def test_when_another_connection_holds_the_lock_the_unit_waits_in_a_thread(
    transactions: SqliteTransactions, db_path: Path
) -> None:
    other = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO said (who) VALUES ('officer')")
    threads: list[int] = []
    try:
        unit = asyncio.create_task(transactions.run(_say("citizen", threads)))
        assert await _ticks_while(unit, 0.3) > 10  # the loop kept turning while the unit waited
        assert not unit.done()
        other.execute("COMMIT")
        assert await asyncio.wait_for(unit, 10) == 2
    finally:
        other.close()

    loop_thread = threading.get_ident()
    assert threads[0] == loop_thread  # tried on the loop first, found the lock taken
    assert threads[-1] != loop_thread  # then waited for it in a thread
    assert _rows(db_path) == ["officer", "citizen"]


async def test_a_failing_unit_is_rolled_back_and_lets_the_workers_write(
    transactions: SqliteTransactions, writer: AsyncEngine, db_path: Path
) -> None:
    def failing(session: Session) -> None:
        _say("lost")(session)
        raise ValueError("simulated failure")

    with pytest.raises(ValueError, match="simulated failure"):
        await transactions.run(failing)

    async with writer.begin() as worker:
        await asyncio.wait_for(worker.execute(text("INSERT INTO said (who) VALUES ('worker')")), 5)
    assert _rows(db_path) == ["worker"]
