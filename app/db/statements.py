"""SQL that differs between SQLite and PostgreSQL, built once per database, and how it is run.

Statements that need dialect-specific SQL (``ON CONFLICT``, ``FOR UPDATE SKIP LOCKED``) are
built once for each database, as ``{dialect name: statement}``: building one costs more than
running it. No business rules here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session


def dialect_of(session: AsyncSession | Session) -> str:
    return session.get_bind().dialect.name


def by_dialect(build: Any) -> dict[str, Any]:
    """A statement that needs dialect-specific SQL (``ON CONFLICT``), built once for each database."""
    return {"postgresql": build(postgresql.insert), "sqlite": build(sqlite.insert)}


def claim_statements(
    table: Any, candidates: Select[Any], values: dict[str, Any], *still: Any
) -> dict[str, Any]:
    """The claim ``UPDATE`` of each database, built once (building them costs more than running them).

    On PostgreSQL the candidates are selected ``FOR UPDATE SKIP LOCKED`` in a ``MATERIALIZED``
    CTE, so that several hub processes claim side by side without waiting on or doubling each
    other's work, and the LIMITed selection runs once (inside ``UPDATE ... IN (subquery)`` the
    planner may re-run it and claim more rows than asked). One statement, so a claim needs no
    transaction around it (``Transactions.run_autocommit``). SQLite serialises writers, so one
    ``UPDATE`` with the subquery is atomic. ``still`` re-checks what must hold at update time.
    Parameters: ``limit``, ``owner``, ``until``, ``now`` where the candidates use it.
    """

    def claim(ids: Any) -> Any:
        return (
            update(table)
            .where(table.id.in_(ids), *still)
            .values(values)
            .returning(table.id)
            .execution_options(synchronize_session=False)
        )

    picked = candidates.with_for_update(skip_locked=True, of=table).cte("picked").prefix_with("MATERIALIZED")
    return {"postgresql": claim(select(picked.c.id)), "sqlite": claim(candidates.scalar_subquery())}


def execute_per_row(session: Session, statement: Any, rows: Sequence[dict[str, Any]]) -> Any:
    """Run a statement once per row, as plain SQL (an ORM bulk statement does more, slower)."""
    return session.connection().execute(statement, list(rows))


def run_claim(session: Session, statements: dict[str, Any], **params: Any) -> list[int]:
    return sorted(session.scalars(statements[dialect_of(session)], params).all())
