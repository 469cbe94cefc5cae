"""How the intake and the workers run their units of work: sync functions of a ``Session``, one transaction each.

A unit is sync so that, on SQLite, its whole transaction can run in one call
(``app.db.sqlite_transactions.SqliteTransactions``); on PostgreSQL ``SessionTransactions``
runs it in an async session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

T = TypeVar("T")


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
