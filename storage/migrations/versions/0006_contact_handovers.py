"""contact handovers waiting for the new contact's confirmation

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact_handovers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("new_contact", sa.String(length=255), nullable=False),
        sa.Column("requested_by", sa.String(length=255), nullable=False),
        sa.Column("requested_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["initiative_id"], ["initiatives.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("initiative_id"),
    )
    with op.batch_alter_table("contact_handovers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_handovers_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_contact_handovers_new_contact"), ["new_contact"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_contact_handovers_requested_by"), ["requested_by"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("contact_handovers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_handovers_requested_by"))
        batch_op.drop_index(batch_op.f("ix_contact_handovers_new_contact"))
        batch_op.drop_index(batch_op.f("ix_contact_handovers_expires_at"))
    op.drop_table("contact_handovers")
