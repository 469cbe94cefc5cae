"""SQLite's units of work (intake and workers): whole on the event loop, never waiting for SQLite's lock there."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

import app.db.sqlite_transactions
from app.db.sqlite_transactions import SqliteTransactions


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "units.db"
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE said (id INTEGER PRIMARY KEY, who TEXT NOT NULL)")
    return path


@pytest.fixture
async def transactions(db_path: Path) -> AsyncIterator[SqliteTransactions]:
    units = SqliteTransactions(f"sqlite+aiosqlite:///{db_path}")
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


@contextlib.contextmanager
def _another_writer(db_path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection (an officer's request, another process) in the middle of a write."""
    other = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO said (who) VALUES ('officer')")
    try:
        yield other
    finally:
        other.close()


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


async def test_when_another_connection_holds_the_lock_the_unit_waits_in_a_thread(
    transactions: SqliteTransactions, db_path: Path
) -> None:
    threads: list[int] = []
    with _another_writer(db_path) as other:
        unit = asyncio.create_task(transactions.run(_say("citizen", threads)))
        assert await _ticks_while(unit, 0.3) > 10  # the loop kept turning while the unit waited
        assert not unit.done()
        other.execute("COMMIT")
        assert await asyncio.wait_for(unit, 10) == 2

    loop_thread = threading.get_ident()
    assert threads[0] == loop_thread  # tried on the loop first, found the lock taken
    assert threads[-1] != loop_thread  # then waited for it in a thread
    assert _rows(db_path) == ["officer", "citizen"]


async def test_while_one_unit_waits_in_a_thread_the_next_waits_its_turn(
    transactions: SqliteTransactions, db_path: Path
) -> None:
    second_threads: list[int] = []
    with _another_writer(db_path) as other:
        first = asyncio.create_task(transactions.run(_say("first")))
        await _ticks_while(first, 0.1)
        second = asyncio.create_task(transactions.run(_say("second", second_threads)))
        await _ticks_while(second, 0.1)
        assert second_threads == []  # not even tried while the first one waits
        other.execute("COMMIT")
        assert await asyncio.wait_for(asyncio.gather(first, second), 10) == [2, 3]

    assert second_threads == [threading.get_ident()]  # its turn came with SQLite's lock free
    assert _rows(db_path) == ["officer", "first", "second"]


async def test_a_failing_unit_is_rolled_back_and_the_next_one_runs(
    transactions: SqliteTransactions, db_path: Path
) -> None:
    def failing(session: Session) -> None:
        _say("lost")(session)
        raise ValueError("simulated failure")

    with pytest.raises(ValueError, match="simulated failure"):
        await transactions.run(failing)

    assert await asyncio.wait_for(transactions.run(_say("citizen")), 5) == 1
    assert _rows(db_path) == ["citizen"]


async def test_the_log_is_copied_back_and_started_over_while_units_keep_coming(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_bytes = 1024 * 1024
    monkeypatch.setattr(app.db.sqlite_transactions, "LOG_BYTES", log_bytes)
    transactions = SqliteTransactions(f"sqlite+aiosqlite:///{db_path}")
    wal = db_path.with_name(db_path.name + "-wal")
    commits = 0
    while commits < 3000:  # each adds a page or two to the write-ahead log: 12 MB or more
        await transactions.run(_say(f"citizen-{commits}".ljust(2000)))
        await asyncio.sleep(0)  # whatever else the loop has to do: the checkpoint gets its turn
        commits += 1

    # SQLite starts the log over only once a checkpoint copied it to its end. Units that went
    # on writing meanwhile would keep that from happening, and the log would hold every
    # commit's pages (the loop's connection never checkpoints by itself).
    assert wal.stat().st_size < 2 * log_bytes
    await transactions.aclose()
    assert len(_rows(db_path)) == commits


async def test_units_wait_only_for_the_last_pass_of_a_checkpoint(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.db.sqlite_transactions, "LOG_BYTES", 64 * 1024)
    transactions = SqliteTransactions(f"sqlite+aiosqlite:///{db_path}")
    units_held: list[bool] = []
    real_checkpoint = app.db.sqlite_transactions._checkpoint

    def checkpoint(engine: Any) -> None:
        units_held.append(transactions._one_at_a_time.locked())
        real_checkpoint(engine)

    monkeypatch.setattr(app.db.sqlite_transactions, "_checkpoint", checkpoint)
    for n in range(60):  # past LOG_BYTES: a checkpoint starts
        await transactions.run(_say(f"citizen-{n}".ljust(2000)))
    await transactions.aclose()  # waits for the checkpoint

    passes = app.db.sqlite_transactions.CATCH_UP_PASSES + 1
    assert len(units_held) >= passes
    assert units_held[:passes] == [False] * app.db.sqlite_transactions.CATCH_UP_PASSES + [True]
