"""index complaint cases by conversation

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 20:10:00

Without it, deleting a conversation (its cases go with it) scans every case, and SQLite's
plan for opening a conversation holds such a scan too.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("complaint_cases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_complaint_cases_conversation_id"), ["conversation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("complaint_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_cases_conversation_id"))
