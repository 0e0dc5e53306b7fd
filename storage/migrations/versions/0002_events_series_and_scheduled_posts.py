"""events, series and scheduled posts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 08:56:02.280559
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=255), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "calendar_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("starts_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["series_id"], ["event_series.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("calendar_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_calendar_events_series_id"), ["series_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_calendar_events_starts_at"), ["starts_at"], unique=False
        )

    op.create_table(
        "event_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("txn_id", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("with_ics", sa.Boolean(), nullable=False),
        sa.Column("matrix_event_id", sa.String(length=255), nullable=True),
        sa.Column("due_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["calendar_events.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "slot", "room_id"),
        sa.UniqueConstraint("txn_id"),
    )
    with op.batch_alter_table("event_posts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_posts_event_id"), ["event_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_event_posts_matrix_event_id"), ["matrix_event_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_event_posts_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event_posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_posts_state"))
        batch_op.drop_index(batch_op.f("ix_event_posts_matrix_event_id"))
        batch_op.drop_index(batch_op.f("ix_event_posts_event_id"))

    op.drop_table("event_posts")
    with op.batch_alter_table("calendar_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_events_starts_at"))
        batch_op.drop_index(batch_op.f("ix_calendar_events_series_id"))

    op.drop_table("calendar_events")
    op.drop_table("event_series")
