"""The hand-written PostgreSQL intake statement writes every column the models need.

``_QUEUE_EVENTS_POSTGRES`` inserts citizens, conversations, work items and messages in raw
SQL, so neither the ORM's Python-side defaults nor its NOT NULL checks apply to it: a column
added to a model with ``default=...`` and no ``server_default`` would make PostgreSQL reject
every queued batch (or, if nullable, silently store NULL where the ORM stores a value). These
tests read the statement's ``INSERT INTO table (columns)`` lists and compare them with the
tables, so such a column fails here, in a unit run without a database.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table

from app.conversations.intake_store import _QUEUE_EVENTS_POSTGRES
from app.conversations.models import Citizen, Conversation, Message, WorkItem

_INSERT = re.compile(r"INSERT INTO (\w+) \(([^)]*)\)")


def written_columns(sql: str) -> dict[str, set[str]]:
    """Each table the statement inserts into, with the columns its column list names."""
    return {table: {name.strip() for name in columns.split(",")} for table, columns in _INSERT.findall(sql)}


def unwritten_columns(table: Table, written: set[str]) -> set[str]:
    """Columns a raw INSERT must name but ``written`` leaves out.

    A column must be written when the database cannot fill it: NOT NULL without a server
    default, or filled by the ORM only (a Python ``default``). The serial primary key is the
    database's to fill.
    """
    needed = {
        column.name
        for column in table.columns
        if column is not table.autoincrement_column
        and column.server_default is None
        and (not column.nullable or column.default is not None)
    }
    return needed - written


STATEMENT = written_columns(str(_QUEUE_EVENTS_POSTGRES))
TABLES = [Citizen.__table__, Conversation.__table__, WorkItem.__table__, Message.__table__]


def test_the_statement_inserts_into_the_four_intake_tables() -> None:
    assert set(STATEMENT) == {table.name for table in TABLES}


@pytest.mark.parametrize("table", TABLES, ids=lambda table: table.name)
def test_every_column_the_database_cannot_fill_is_written(table: Table) -> None:
    assert unwritten_columns(table, STATEMENT[table.name]) == set()


@pytest.mark.parametrize("table", TABLES, ids=lambda table: table.name)
def test_every_written_column_exists(table: Table) -> None:
    assert STATEMENT[table.name] - set(table.columns.keys()) == set()


@pytest.mark.parametrize(
    ("extra", "missed"),
    [
        (Column("priority", Integer, nullable=False), {"priority"}),
        (Column("label", String(8), nullable=True, default="new"), {"label"}),
        (Column("note", String(8), nullable=True), set()),
        (Column("weight", Integer, nullable=False, server_default="0"), set()),
    ],
    ids=["not-null", "python-default", "nullable", "server-default"],
)
def test_a_column_added_to_a_model_but_not_to_the_statement_is_caught(
    extra: Column[object], missed: set[str]
) -> None:
    grown = WorkItem.__table__.to_metadata(MetaData())
    grown.append_column(extra)
    assert unwritten_columns(grown, STATEMENT["work_items"]) == missed
