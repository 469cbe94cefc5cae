"""The async engine and session factory, with each database's connection settings."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

# A PostgreSQL connection that sat in the pool this long is pinged before use: after a database
# restart it is dead, and the unit given it would fail. Under load connections come back within
# milliseconds, and a ping on every checkout (SQLAlchemy's pool_pre_ping) costs each transaction
# a round trip: ack p99 at 270/s is 36-57 ms with it, 33-43 ms without (benchmarks/load.py, two hubs).
PING_AFTER_IDLE_SECONDS = 1.0


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
        event.listen(engine.sync_engine, "connect", set_sqlite_pragmas)
        return engine
    engine = create_async_engine(url, pool_size=10, max_overflow=10)
    _ping_when_idle(engine)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


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


def set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Every SQLite connection's settings (a ``connect`` event listener)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Deleted and overwritten content is zeroed where that costs no extra I/O (erasure, retention).
    cursor.execute("PRAGMA secure_delete=FAST")
    cursor.close()
