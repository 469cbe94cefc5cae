"""Async engine and session factory, transaction runners, the declarative base and the migration runner."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, TypeVar

import sqlalchemy
from sqlalchemy import MetaData, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import DateTime, TypeDecorator

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC timestamps on every database (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_id() -> str:
    return uuid.uuid4().hex


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str, *, single_connection: bool = False) -> AsyncEngine:
    """``single_connection`` (SQLite): sessions queue for one connection, first come first served.

    SQLite has one writer at a time. Writers that meet its lock sleep and retry with growing
    pauses, so a busy writer (the webhooks' intake) can starve the others (the workers) for
    seconds; queueing for one connection instead keeps their turns fair.
    """
    if is_sqlite(url):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # No rollback when a connection comes back: sessions end their own transactions, and
        # SqliteTransactions borrows it only to keep the workers from writing meanwhile.
        pool: dict[str, Any] = (
            {"pool_size": 1, "max_overflow": 0, "pool_reset_on_return": None} if single_connection else {}
        )
        engine = create_async_engine(url, connect_args={"timeout": 30}, **pool)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


class Transactions(Protocol):
    """Runs a unit of work (a function of a sync ``Session``) in one transaction; returns its result."""

    async def run(self, work: Callable[[Session], T]) -> T: ...

    async def aclose(self) -> None: ...


class SessionTransactions:
    """Each unit in an async session: its statements are awaited one by one on the event loop."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def run(self, work: Callable[[Session], T]) -> T:
        async with self.sessions() as session, session.begin():
            return await session.run_sync(work)

    async def aclose(self) -> None:
        pass


class SqliteTransactions:
    """SQLite: each unit runs whole in one call on the event loop, on connections of its own.

    Through aiosqlite each statement takes about four event-loop turns (cursor, execute,
    fetch, close), and on a busy loop every turn waits behind the rest of its work: at 300
    messages/s the webhooks' intake held SQLite's one writer about 19 ms per transaction,
    nearly all of it waiting for turns. In one call the same transaction takes about 2 ms.

    Why the loop need not wait on SQLite here:
    - SQLite has one writer at a time, and within the hub the writers are the workers' single
      connection (``single_connection``) and this one. A unit holds ``writer``'s connection
      while it runs, so the workers are never in the middle of a write.
    - Commits in WAL mode with ``synchronous=NORMAL`` do not wait for the disk. Checkpoints
      (which do) are left to the other connections: ``wal_autocheckpoint=0`` here.
    - Should something else hold SQLite's lock (the general pool, another process), the unit
      does not wait for it on the loop (``busy_timeout=0``): it is rolled back and run again
      in a thread, with the usual patience.
    """

    def __init__(self, url: str, writer: AsyncEngine) -> None:
        self.writer = writer
        sync_url = sqlalchemy.make_url(url).set(drivername="sqlite")
        on_loop = sqlalchemy.create_engine(sync_url, pool_size=1, max_overflow=0)
        event.listen(on_loop, "connect", _sqlite_pragmas)
        event.listen(on_loop, "connect", _never_wait)
        in_thread = sqlalchemy.create_engine(sync_url, pool_size=1, max_overflow=0)
        event.listen(in_thread, "connect", _sqlite_pragmas)
        self._engines = (on_loop, in_thread)
        self._on_loop = sessionmaker(on_loop, expire_on_commit=False)
        self._in_thread = sessionmaker(in_thread, expire_on_commit=False)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-transactions")

    async def run(self, work: Callable[[Session], T]) -> T:
        writer = await self.writer.raw_connection()
        try:
            try:
                return _in_transaction(self._on_loop, work)
            except sqlalchemy.exc.OperationalError as error:
                if not _is_busy(error):
                    raise
            return await asyncio.get_running_loop().run_in_executor(
                self._thread, _in_transaction, self._in_thread, work
            )
        finally:
            writer.close()  # back to the pool; no reset to run (``pool_reset_on_return=None``)

    async def aclose(self) -> None:
        await asyncio.to_thread(self._thread.shutdown)
        for engine in self._engines:
            engine.dispose()


def _in_transaction(sessions: sessionmaker[Session], work: Callable[[Session], T]) -> T:
    with sessions() as session, session.begin():
        return work(session)


def _never_wait(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA busy_timeout=0")
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


def _is_busy(error: sqlalchemy.exc.OperationalError) -> bool:
    code = getattr(error.orig, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def run_migrations(url: str) -> None:
    """Upgrade the database to the newest Alembic revision (called at start-up and by the CLI)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "head")
