"""messages: one channel-neutral reply context instead of LINE's reply token columns

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 18:00:00

An outbound message keeps how its channel may answer the event it answers as
``reply_context`` JSON, ``{"token": ..., "expires_at": ISO 8601 in UTC}`` (what
``app.conversations.models.ReplyContextJson`` reads), instead of ``reply_token`` and
``reply_token_expires_at``, which only LINE has. Tokens move with their expiry; a token
without one was never used (its life is unknown) and is dropped.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.schema

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite keeps a timestamp as naive UTC text, "YYYY-MM-DD HH:MM:SS.ffffff".
_TO_CONTEXT = {
    "postgresql": """
        UPDATE messages SET reply_context = json_build_object(
            'token', reply_token,
            'expires_at', to_char(reply_token_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00'
        )
        WHERE reply_token IS NOT NULL AND reply_token_expires_at IS NOT NULL
    """,
    "sqlite": """
        UPDATE messages SET reply_context = json_object(
            'token', reply_token,
            'expires_at', replace(reply_token_expires_at, ' ', 'T') || '+00:00'
        )
        WHERE reply_token IS NOT NULL AND reply_token_expires_at IS NOT NULL
    """,
}
_FROM_CONTEXT = {
    "postgresql": """
        UPDATE messages SET reply_token = reply_context ->> 'token',
                            reply_token_expires_at = CAST(reply_context ->> 'expires_at' AS timestamptz)
        WHERE reply_context IS NOT NULL
    """,
    "sqlite": """
        UPDATE messages SET reply_token = json_extract(reply_context, '$.token'),
                            reply_token_expires_at = replace(
                                replace(json_extract(reply_context, '$.expires_at'), 'T', ' '), '+00:00', ''
                            )
        WHERE reply_context IS NOT NULL
    """,
}


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_context", sa.JSON(), nullable=True))
    op.execute(_TO_CONTEXT[op.get_bind().dialect.name])
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("reply_token_expires_at")
        batch_op.drop_column("reply_token")


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_token", sa.String(length=256), nullable=True))
        batch_op.add_column(
            sa.Column("reply_token_expires_at", app.db.schema.UtcDateTime(timezone=True), nullable=True)
        )
    op.execute(_FROM_CONTEXT[op.get_bind().dialect.name])
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("reply_context")
