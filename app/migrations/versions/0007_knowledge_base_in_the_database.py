"""knowledge base in the database: entries, versions, changes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 17:40:00

After the first start the published knowledge base lives here (seeded from the YAML files): one
row per entry, every version ever published, and the changes waiting for a second person's review.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.schema

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kb_entries",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("updated_at", app.db.schema.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_entries")),
    )
    with op.batch_alter_table("kb_entries", schema=None) as batch_op:
        batch_op.create_index("ix_kb_entries_department_position", ["department", "position"], unique=False)

    op.create_table(
        "kb_changes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("entry_id", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("is_new_entry", sa.Boolean(), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("author_id", sa.String(length=32), nullable=True),
        sa.Column("author_username", sa.String(length=64), nullable=False),
        sa.Column("created_at", app.db.schema.UtcDateTime(timezone=True), nullable=False),
        sa.Column("reviewer_id", sa.String(length=32), nullable=True),
        sa.Column("reviewer_username", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", app.db.schema.UtcDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["officers.id"], name=op.f("fk_kb_changes_author_id_officers"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["officers.id"],
            name=op.f("fk_kb_changes_reviewer_id_officers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_changes")),
    )
    with op.batch_alter_table("kb_changes", schema=None) as batch_op:
        batch_op.create_index("ix_kb_changes_entry_id_created_at", ["entry_id", "created_at"], unique=False)
        batch_op.create_index("ix_kb_changes_status_created_at", ["status", "created_at"], unique=False)

    op.create_table(
        "kb_entry_versions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("entry_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("author_id", sa.String(length=32), nullable=True),
        sa.Column("approved_by", sa.String(length=64), nullable=False),
        sa.Column("approver_id", sa.String(length=32), nullable=True),
        sa.Column("at", app.db.schema.UtcDateTime(timezone=True), nullable=False),
        sa.Column("change_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["approver_id"],
            ["officers.id"],
            name=op.f("fk_kb_entry_versions_approver_id_officers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["officers.id"],
            name=op.f("fk_kb_entry_versions_author_id_officers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_entry_versions")),
        sa.UniqueConstraint("entry_id", "version", name=op.f("uq_kb_entry_versions_entry_id_version")),
    )


def downgrade() -> None:
    op.drop_table("kb_entry_versions")
    with op.batch_alter_table("kb_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_changes_status_created_at")
        batch_op.drop_index("ix_kb_changes_entry_id_created_at")

    op.drop_table("kb_changes")
    with op.batch_alter_table("kb_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_entries_department_position")

    op.drop_table("kb_entries")
