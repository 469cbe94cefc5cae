"""SQLite's runner of units of work: each whole in one call on the event loop, and the checkpoints of its log."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from app.db.engine import set_sqlite_pragmas, sqlite_file

T = TypeVar("T")
log = logging.getLogger(__name__)
# The hub's SQLite checkpoints once its write-ahead log is this long. Each checkpoint copies a
# page once however often it was written since, and the queue's pages are written all the time:
# at SQLite's own default (4 MB) the hub spent about a fifth more CPU per message (benchmarks/load.py).
LOG_BYTES = 64 * 1024 * 1024
# Checkpoint passes while units go on writing, before the one while they wait (see ``_copy_back``).
CATCH_UP_PASSES = 3


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
        event.listen(on_loop, "connect", set_sqlite_pragmas)
        event.listen(on_loop, "connect", _never_wait)
        in_thread = sqlalchemy.create_engine(sync_url, pool_size=1, max_overflow=0)
        event.listen(in_thread, "connect", set_sqlite_pragmas)
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
