"""the funder report: usage records, scheduled report posts, room members at feedback prompts

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "usage_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("usage_records", schema=None) as batch_op:
        batch_op.create_index("ix_usage_records_kind_at", ["kind", "at"], unique=False)
    op.create_table(
        "report_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("txn_id", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("matrix_event_id", sa.String(length=255), nullable=True),
        sa.Column("claimed_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("period", "target"),
        sa.UniqueConstraint("txn_id"),
    )
    with op.batch_alter_table("event_posts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("members", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("event_posts", schema=None) as batch_op:
        batch_op.drop_column("members")
    op.drop_table("report_posts")
    with op.batch_alter_table("usage_records", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_records_kind_at")
    op.drop_table("usage_records")
