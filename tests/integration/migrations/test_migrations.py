"""The migrations: the schema they build is the models', and 0008 carries reply tokens into the reply context and back.

On both databases, from an empty one: the data moves in dialect-specific SQL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import bindparam, inspect, select, text
from sqlalchemy.engine import Connection

import app.models  # noqa: F401  (fills Base.metadata)
from app.conversations.models import Message
from app.db.engine import create_engine
from app.db.migrate import MIGRATIONS_DIR
from app.db.schema import Base, UtcDateTime
from channels.base import ReplyContext
from tests.conftest import POSTGRES_AVAILABLE, fresh_postgres_database

REPLY_CONTEXT_REVISION = "0008"
EXPIRES_AT = dt.datetime(2026, 12, 7, 17, 30, 5, 123456, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def empty_database_url(request: pytest.FixtureRequest, sqlite_url: str) -> AsyncIterator[str]:
    """A database with no tables yet, on each of the two."""
    if request.param == "sqlite":
        yield sqlite_url
        return
    if not POSTGRES_AVAILABLE:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    async with fresh_postgres_database(migrated=False) as url:
        yield url


def _config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url)
    return config


def _revision_before(revision: str) -> str:
    down = ScriptDirectory.from_config(_config("")).get_revision(revision).down_revision
    assert isinstance(down, str)
    return down


async def _upgrade(url: str, revision: str) -> None:
    await asyncio.to_thread(command.upgrade, _config(url), revision)


async def _downgrade(url: str, revision: str) -> None:
    await asyncio.to_thread(command.downgrade, _config(url), revision)


async def _on(url: str, work: Any) -> Any:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


def _schema_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_the_migrated_schema_is_the_models_schema(empty_database_url: str) -> None:
    await _upgrade(empty_database_url, "head")
    assert await _on(empty_database_url, _schema_differences) == []


# Messages before 0008: with a reply token and its expiry, with neither, with a token but no expiry.
_OLD_MESSAGES = [(1, "token-with-expiry", EXPIRES_AT), (2, None, None), (3, "token-without-expiry", None)]


def _store_old_messages(connection: Connection) -> None:
    now = dt.datetime.now(dt.UTC)
    connection.execute(
        text(
            "INSERT INTO citizens (id, channel, external_id, active, created_at) VALUES ('c1', 'line', 'U1', true, :now)"
        ),
        {"now": now},
    )
    connection.execute(
        text(
            "INSERT INTO conversations (id, citizen_id, channel, state, fallback_streak, clarify_pending,"
            " pin_failures, created_at, updated_at) VALUES ('v1', 'c1', 'line', 'bot', 0, false, 0, :now, :now)"
        ),
        {"now": now},
    )
    connection.execute(
        text(
            "INSERT INTO messages (id, conversation_id, direction, sender, text, quick_replies, extra, created_at,"
            " delivery_attempts, reply_token, reply_token_expires_at)"
            " VALUES (:id, 'v1', 'out', 'bot', 'สวัสดีค่ะ', '[]', '{}', :now, 0, :token, :expires)"
        ).bindparams(bindparam("now", type_=UtcDateTime), bindparam("expires", type_=UtcDateTime)),
        [{"id": n, "token": token, "expires": expires, "now": now} for n, token, expires in _OLD_MESSAGES],
    )


def _reply_contexts(connection: Connection) -> dict[int, ReplyContext | None]:
    rows = connection.execute(select(Message.id, Message.reply_context).order_by(Message.id))
    return {message_id: context for message_id, context in rows}


def _old_reply_columns(connection: Connection) -> dict[int, tuple[str | None, dt.datetime | None]]:
    rows = connection.execute(
        text("SELECT id, reply_token, reply_token_expires_at FROM messages ORDER BY id").columns(
            reply_token_expires_at=UtcDateTime
        )
    )
    return {message_id: (token, expires) for message_id, token, expires in rows}


def _message_columns(connection: Connection) -> set[str]:
    return {column["name"] for column in inspect(connection).get_columns("messages")}


class TestReplyContextMigration:
    async def test_upgrade_moves_each_token_with_its_expiry_into_the_reply_context(
        self, empty_database_url: str
    ) -> None:
        await _upgrade(empty_database_url, _revision_before(REPLY_CONTEXT_REVISION))
        await _on(empty_database_url, _store_old_messages)

        await _upgrade(empty_database_url, "head")

        assert await _on(empty_database_url, _reply_contexts) == {
            1: ReplyContext("token-with-expiry", EXPIRES_AT),
            2: None,
            3: None,  # a token of unknown life is never used
        }
        columns = await _on(empty_database_url, _message_columns)
        assert "reply_context" in columns
        assert columns.isdisjoint({"reply_token", "reply_token_expires_at"})

    async def test_downgrade_puts_the_tokens_back_in_their_columns(self, empty_database_url: str) -> None:
        before = _revision_before(REPLY_CONTEXT_REVISION)
        await _upgrade(empty_database_url, before)
        await _on(empty_database_url, _store_old_messages)
        await _upgrade(empty_database_url, REPLY_CONTEXT_REVISION)

        await _downgrade(empty_database_url, before)

        assert await _on(empty_database_url, _old_reply_columns) == {
            1: ("token-with-expiry", EXPIRES_AT),
            2: (None, None),
            3: (None, None),
        }
        assert "reply_context" not in await _on(empty_database_url, _message_columns)
