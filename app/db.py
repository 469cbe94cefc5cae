"""Async engine and session factory, transaction runners, the declarative base and the migration runner."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import sqlite3
import time
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
log = logging.getLogger(__name__)
# The hub's SQLite checkpoints once its write-ahead log is this long. Each checkpoint copies a
# page once however often it was written since, and the queue's pages are written all the time:
# at SQLite's own default (4 MB) the hub spent about a fifth more CPU per message (benchmarks/load.py).
LOG_BYTES = 64 * 1024 * 1024
# Checkpoint passes while units go on writing, before the one while they wait (see ``_copy_back``).
CATCH_UP_PASSES = 3
# A PostgreSQL connection that sat in the pool this long is pinged before use: after a database
# restart it is dead, and the unit given it would fail. Under load connections come back within
# milliseconds, and a ping on every checkout (SQLAlchemy's pool_pre_ping) costs each transaction
# a round trip: ack p99 at 270/s is 36-57 ms with it, 33-43 ms without (benchmarks/load.py, two hubs).
PING_AFTER_IDLE_SECONDS = 1.0

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


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; ``None`` for one in memory."""
    database = sqlalchemy.make_url(url).database
    return Path(database) if database and database != ":memory:" else None


def private_sqlite_file(file: Path) -> None:
    """Create the database file readable by its owner only (0600); SQLite gives its write-ahead
    log and shared-memory files the same mode. An existing file is narrowed to it too."""
    file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(file, os.O_RDWR | os.O_CREAT, 0o600))
    for path in (file, file.with_name(f"{file.name}-wal"), file.with_name(f"{file.name}-shm")):
        with contextlib.suppress(FileNotFoundError):
            path.chmod(0o600)


def create_engine(url: str) -> AsyncEngine:
    if is_sqlite(url):
        if (file := sqlite_file(url)) is not None:
            private_sqlite_file(file)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(url, pool_size=10, max_overflow=10)
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Ping a connection that sat in the pool (``PING_AFTER_IDLE_SECONDS``); replace it if it is dead."""

    def note_idle_since(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # the pool then opens a new connection instead
            raise sqlalchemy.exc.DisconnectionError("the connection died while idle") from error

    event.listen(engine.sync_engine.pool, "checkin", note_idle_since)
    event.listen(engine.sync_engine.pool, "checkout", ping_if_idle)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Deleted and overwritten content is zeroed where that costs no extra I/O (erasure, retention).
    cursor.execute("PRAGMA secure_delete=FAST")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


class Transactions(Protocol):
    """Runs a unit of work (a function of a sync ``Session``) in one transaction; returns its result."""

    async def run(self, work: Callable[[Session], T]) -> T: ...

    async def run_autocommit(self, work: Callable[[Session], T]) -> T:
        """Runs a unit whose statements need no transaction in common: each is atomic on its own.

        Where the database allows, each statement commits by itself (no ``BEGIN`` and
        ``COMMIT`` round trips); elsewhere the unit runs in one transaction, as ``run``.
        """
        ...

    async def aclose(self) -> None: ...


class SessionTransactions:
    """Each unit in an async session: its statements are awaited one by one on the event loop."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        engine = sessions.kw["bind"]
        # The same pool; a connection checked out here sends no BEGIN (asyncpg's autocommit).
        self._autocommit = async_sessionmaker(
            engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
        )

    async def run(self, work: Callable[[Session], T]) -> T:
        async with self.sessions() as session, session.begin():
            return await session.run_sync(work)

    async def run_autocommit(self, work: Callable[[Session], T]) -> T:
        async with self._autocommit() as session:
            result = await session.run_sync(work)
            await session.commit()  # flushes what the unit left pending; no COMMIT is sent
            return result

    async def aclose(self) -> None:
        pass


class SqliteTransactions:
    """SQLite: one unit at a time, in the order they come, each whole in one call on the event loop.

    Through aiosqlite each statement takes about four event-loop turns (cursor, execute,
    fetch, close), and on a busy loop every turn waits behind the rest of its work: at 300
    messages/s a transaction of three statements held SQLite's one writer for about 19 ms,
    nearly all of it waiting for turns. In one call the same transaction takes about 2 ms, and
    the units need no connection pool to take turns: the loop runs one call at a time.

    Why the loop need not wait on SQLite here:
    - Commits in WAL mode with ``synchronous=NORMAL`` do not wait for the disk. Checkpoints
      (which do) run in a thread once the log holds ``LOG_BYTES`` (``wal_autocheckpoint=0``
      on the loop's connection).
    - Should something else hold SQLite's lock (a request on the general pool, another
      process), the unit does not wait for it on the loop (``busy_timeout=0``): it is rolled
      back and run again in a thread, with the usual patience. So a unit may run twice; it
      must only assign what it produces.
    """

    def __init__(self, url: str) -> None:
        sync_url = sqlalchemy.make_url(url).set(drivername="sqlite")
        file = sqlite_file(url)
        self._log = file.with_name(f"{file.name}-wal") if file is not None else None
        on_loop = sqlalchemy.create_engine(sync_url, pool_size=1, max_overflow=0)
        event.listen(on_loop, "connect", _sqlite_pragmas)
        event.listen(on_loop, "connect", _never_wait)
        in_thread = sqlalchemy.create_engine(sync_url, pool_size=1, max_overflow=0)
        event.listen(in_thread, "connect", _sqlite_pragmas)
        self._engines = (on_loop, in_thread)
        self._on_loop = sessionmaker(on_loop, expire_on_commit=False)
        self._in_thread = sessionmaker(in_thread, expire_on_commit=False)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-transactions")
        self._one_at_a_time = asyncio.Lock()  # first come, first served (later ids for later units)
        self._checkpoint: asyncio.Task[None] | None = None

    async def run(self, work: Callable[[Session], T]) -> T:
        async with self._one_at_a_time:
            try:
                result = _in_transaction(self._on_loop, work)
            except sqlalchemy.exc.OperationalError as error:
                if not _is_busy(error):
                    raise
                return await self._in_the_thread(_in_transaction, self._in_thread, work)
        if self._log_is_long() and (self._checkpoint is None or self._checkpoint.done()):
            self._checkpoint = asyncio.create_task(self._copy_back())
        return result

    async def run_autocommit(self, work: Callable[[Session], T]) -> T:
        return await self.run(work)  # SQLite has one writer anyway: a transaction costs no round trip

    def _log_is_long(self) -> bool:
        """Whether the write-ahead log holds more than ``LOG_BYTES`` (its file is cut back to that)."""
        try:
            return self._log is not None and self._log.stat().st_size > LOG_BYTES
        except FileNotFoundError:
            return False

    async def _copy_back(self) -> None:
        """Copy the log into the database, the last of it while no unit writes: then SQLite starts it over.

        SQLite starts the log over only once a checkpoint copied it to its end. Copied only while
        units go on writing, it grew by about 30 MB a second at 300 messages/s; copied whole while
        they wait, they waited about 16 ms each time (a checkpoint every 14 MB). So it is copied
        while they write, then again what they wrote meanwhile (each pass shorter than the one
        before), and only the rest while they wait. At 360 messages/s the pass they wait for took
        6 ms at the median, against 20 ms after a single pass (benchmarks/load.py).
        """
        try:
            for _ in range(CATCH_UP_PASSES):
                await self._in_the_thread(_checkpoint, self._engines[1])
            async with self._one_at_a_time:
                await self._in_the_thread(_checkpoint, self._engines[1])
        except sqlalchemy.exc.OperationalError:
            log.warning("sqlite_checkpoint_failed", exc_info=True)  # the next one copies it all

    async def _in_the_thread(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, function, *args)

    async def aclose(self) -> None:
        if self._checkpoint is not None:
            await self._checkpoint
        await asyncio.to_thread(self._thread.shutdown)
        for engine in self._engines:
            engine.dispose()


def _checkpoint(engine: sqlalchemy.Engine) -> None:
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


def _in_transaction(sessions: sessionmaker[Session], work: Callable[[Session], T]) -> T:
    with sessions() as session, session.begin():
        return work(session)


def _never_wait(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA busy_timeout=0")
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")
    dbapi_connection.execute(f"PRAGMA journal_size_limit={LOG_BYTES}")


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
