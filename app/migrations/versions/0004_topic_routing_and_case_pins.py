"""topic routing on conversations and escalations; case PINs

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 15:00:00

A queue row shows the entry an escalation was routed by and the citizen's question without
reading the transcript; a complaint case keeps a keyed hash of its PIN so the number and PIN
work from any channel identity.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.schema

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recent_faq_id", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("recent_faq_at", app.db.schema.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("topic_faq_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("question_message_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("pin_failures", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(
            sa.Column("pin_failed_at", app.db.schema.UtcDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("topic_faq_id", sa.String(length=64), nullable=True))
    with op.batch_alter_table("complaint_cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pin_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("complaint_cases", schema=None) as batch_op:
        batch_op.drop_column("pin_hash")
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_column("topic_faq_id")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        for column in (
            "pin_failed_at",
            "pin_failures",
            "question_message_id",
            "topic_faq_id",
            "recent_faq_at",
            "recent_faq_id",
        ):
            batch_op.drop_column(column)
