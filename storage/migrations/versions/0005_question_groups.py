"""question groups: unanswered questions grouped at arrival, with the asker's pseudonym

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 09:00:00.000000

Questions already stored are grouped in one pass: open ones with the same wording (case,
spacing and punctuation aside) share a group, answered ones are grouped by the knowledge entry
they became. A group takes the id of its first question, so the numbers coordinators saw in
`!faq unbeantwortet` stay valid. Their `terms` stay empty (NULL): at the next start the bot
analyses these groups and merges the similar ones (storage cannot analyse text itself).
"""

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WORD = re.compile(r"\w+")
_questions = sa.table(
    "unanswered_questions",
    sa.column("id", sa.Integer()),
    sa.column("group_id", sa.Integer()),
    sa.column("text", sa.Text()),
    sa.column("language", sa.String(16)),
    sa.column("asked_at", storage.models.UTCDateTime()),
    sa.column("answered_entry", sa.String(64)),
)
_groups = sa.table(
    "question_groups",
    sa.column("id", sa.Integer()),
    sa.column("text", sa.Text()),
    sa.column("language", sa.String(16)),
    sa.column("terms", sa.Text()),
    sa.column("asked_count", sa.Integer()),
    sa.column("first_asked_at", storage.models.UTCDateTime()),
    sa.column("last_asked_at", storage.models.UTCDateTime()),
    sa.column("state", sa.String(16)),
    sa.column("entry_id", sa.String(64)),
    sa.column("settled_at", storage.models.UTCDateTime()),
)


def upgrade() -> None:
    op.create_table(
        "question_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("terms", sa.Text(), nullable=True),
        sa.Column("asked_count", sa.Integer(), nullable=False),
        sa.Column("first_asked_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_asked_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("entry_id", sa.String(length=64), nullable=True),
        sa.Column("settled_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("question_groups", schema=None) as batch_op:
        batch_op.create_index(
            "ix_question_groups_listing", ["state", "asked_count", "id"], unique=False
        )

    op.create_table(
        "question_group_terms",
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["question_groups.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("term", "group_id"),
    )
    with op.batch_alter_table("question_group_terms", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_question_group_terms_group_id"), ["group_id"], unique=False
        )

    with op.batch_alter_table("unanswered_questions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("group_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("pseudonym", sa.String(length=64), nullable=True))

    _group_stored_questions(op.get_bind())

    with op.batch_alter_table("unanswered_questions", schema=None) as batch_op:
        batch_op.alter_column("group_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            "fk_unanswered_questions_group_id",
            "question_groups",
            ["group_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(
            batch_op.f("ix_unanswered_questions_group_id"), ["group_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_unanswered_questions_asked_at"), ["asked_at"], unique=False
        )
        batch_op.create_index(
            "ix_unanswered_questions_pseudonym", ["pseudonym", "asked_at"], unique=False
        )


def _wording(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


def _group_stored_questions(bind: sa.Connection) -> None:
    """One pass over the stored questions, oldest first."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}  # (kind, key) -> the group's row
    members: list[dict[str, int]] = []
    rows = bind.execute(
        sa.select(
            _questions.c.id,
            _questions.c.text,
            _questions.c.language,
            _questions.c.asked_at,
            _questions.c.answered_entry,
        ).order_by(_questions.c.id)
    )
    for qid, text, language, asked_at, entry in rows:
        key = ("answered", entry) if entry else ("open", _wording(text))
        group = groups.get(key)
        if group is None:
            group = groups[key] = _new_group(qid, text, language, asked_at, entry)
        else:
            group["asked_count"] += 1
            group["last_asked_at"] = max(group["last_asked_at"], asked_at)
        members.append({"qid": qid, "gid": group["id"]})
    if not groups:
        return
    bind.execute(_groups.insert(), list(groups.values()))
    bind.execute(
        _questions.update()
        .where(_questions.c.id == sa.bindparam("qid"))
        .values(group_id=sa.bindparam("gid")),
        members,
    )
    if bind.dialect.name == "postgresql":  # ids were given: move the sequence past them
        bind.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence('question_groups', 'id'), "
                "(SELECT MAX(id) FROM question_groups))"
            )
        )


def _new_group(
    qid: int, text: str, language: str, asked_at: datetime, entry: str | None
) -> dict[str, Any]:
    return {
        "id": qid,
        "text": text,
        "language": language,
        "terms": None,
        "asked_count": 1,
        "first_asked_at": asked_at,
        "last_asked_at": asked_at,
        "state": "answered" if entry else "open",
        "entry_id": entry,
        "settled_at": None,
    }


def downgrade() -> None:
    with op.batch_alter_table("unanswered_questions", schema=None) as batch_op:
        batch_op.drop_index("ix_unanswered_questions_pseudonym")
        batch_op.drop_index(batch_op.f("ix_unanswered_questions_asked_at"))
        batch_op.drop_index(batch_op.f("ix_unanswered_questions_group_id"))
        batch_op.drop_constraint("fk_unanswered_questions_group_id", type_="foreignkey")
        batch_op.drop_column("pseudonym")
        batch_op.drop_column("group_id")

    with op.batch_alter_table("question_group_terms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_question_group_terms_group_id"))
    op.drop_table("question_group_terms")
    with op.batch_alter_table("question_groups", schema=None) as batch_op:
        batch_op.drop_index("ix_question_groups_listing")
    op.drop_table("question_groups")
