"""feedback ratings and comments

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 09:03:23.337870
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feedback_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("pseudonym", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["calendar_events.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("feedback_comments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_feedback_comments_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_feedback_comments_event_id"), ["event_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_feedback_comments_pseudonym"), ["pseudonym"], unique=False
        )

    op.create_table(
        "feedback_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("pseudonym", sa.String(length=64), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("reaction_event_id", sa.String(length=255), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("updated_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["calendar_events.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "pseudonym"),
    )
    with op.batch_alter_table("feedback_ratings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_feedback_ratings_event_id"), ["event_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_feedback_ratings_pseudonym"), ["pseudonym"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_feedback_ratings_reaction_event_id"), ["reaction_event_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("feedback_ratings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_ratings_reaction_event_id"))
        batch_op.drop_index(batch_op.f("ix_feedback_ratings_pseudonym"))
        batch_op.drop_index(batch_op.f("ix_feedback_ratings_event_id"))

    op.drop_table("feedback_ratings")
    with op.batch_alter_table("feedback_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_comments_pseudonym"))
        batch_op.drop_index(batch_op.f("ix_feedback_comments_event_id"))
        batch_op.drop_index(batch_op.f("ix_feedback_comments_created_at"))

    op.drop_table("feedback_comments")
