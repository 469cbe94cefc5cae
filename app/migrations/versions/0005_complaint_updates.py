"""complaint status history (complaint_updates)

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-07 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.schema

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "complaint_updates",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("officer_id", sa.String(length=32), nullable=True),
        sa.Column("officer_username", sa.String(length=64), nullable=False),
        sa.Column("at", app.db.schema.UtcDateTime(timezone=True), nullable=False),
        sa.Column("notice_state", sa.String(length=16), nullable=False),
        sa.Column("notice_reason", sa.Text(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["complaint_cases.id"],
            name=op.f("fk_complaint_updates_case_id_complaint_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["officer_id"],
            ["officers.id"],
            name=op.f("fk_complaint_updates_officer_id_officers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_updates")),
    )
    with op.batch_alter_table("complaint_updates", schema=None) as batch_op:
        batch_op.create_index("ix_complaint_updates_case_id_at", ["case_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaint_updates_notice_state"), ["notice_state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("complaint_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_updates_notice_state"))
        batch_op.drop_index("ix_complaint_updates_case_id_at")
    op.drop_table("complaint_updates")
