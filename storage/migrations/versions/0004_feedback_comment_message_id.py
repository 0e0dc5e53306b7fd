"""feedback comment message id

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 10:37:27.901513
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("feedback_comments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("matrix_event_id", sa.String(length=255), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_feedback_comments_matrix_event_id"), ["matrix_event_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("feedback_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_comments_matrix_event_id"))
        batch_op.drop_column("matrix_event_id")
