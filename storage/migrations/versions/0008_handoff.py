"""handoff: coordination room posts of question groups, links to the askers' messages,
coordinators' answers and their relays

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 13:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = storage.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "handoff_posts",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("txn_id", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("room_id", sa.String(length=255), nullable=True),
        sa.Column("matrix_event_id", sa.String(length=255), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("shown_version", sa.Integer(), nullable=False),
        sa.Column("last_answer", sa.Text(), nullable=True),
        sa.Column("answered_at", _WHEN, nullable=True),
        sa.Column("saved_by", sa.String(length=255), nullable=True),
        sa.Column("save_told", sa.Boolean(), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["question_groups.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("group_id"),
        sa.UniqueConstraint("txn_id"),
    )
    with op.batch_alter_table("handoff_posts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handoff_posts_state"), ["state"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_handoff_posts_matrix_event_id"), ["matrix_event_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_handoff_posts_answered_at"), ["answered_at"], unique=False
        )
    op.create_table(
        "handoff_links",
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("thread_root", sa.String(length=255), nullable=True),
        sa.Column("asker", sa.String(length=255), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("room_name", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(["group_id"], ["question_groups.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["question_id"], ["unanswered_questions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("question_id"),
    )
    with op.batch_alter_table("handoff_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handoff_links_group_id"), ["group_id"], unique=False)
    op.create_table(
        "handoff_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("thread_root", sa.String(length=255), nullable=True),
        sa.Column("answered_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["question_groups.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("handoff_answers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handoff_answers_group_id"), ["group_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_handoff_answers_confirmed"), ["confirmed"], unique=False
        )
    op.create_table(
        "handoff_relays",
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["answer_id"], ["handoff_answers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["question_id"], ["handoff_links.question_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("answer_id", "question_id"),
    )
    with op.batch_alter_table("handoff_relays", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_handoff_relays_question_id"), ["question_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_handoff_relays_state"), ["state"], unique=False)


def downgrade() -> None:
    op.drop_table("handoff_relays")
    op.drop_table("handoff_answers")
    op.drop_table("handoff_links")
    op.drop_table("handoff_posts")
