"""officer token generation; login failures by address

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-07 15:00:00

An officer's tokens carry the generation they were signed in; changing the password, role or
departments, deactivating or logging out moves it on, so every older token is refused at once.
Login failures are also counted per address across usernames (password spraying).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("officers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_generation", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index("ix_login_failures_address_at", ["address", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_login_failures_address_at")
    with op.batch_alter_table("officers", schema=None) as batch_op:
        batch_op.drop_column("token_generation")
