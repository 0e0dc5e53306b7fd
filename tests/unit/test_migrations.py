"""Migrations on SQLite: a table rebuild loses no referring rows, a broken reference stops
the upgrade, the models match the migrations, and stored questions are grouped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, func, select, text

from bot.app import build_dispatcher
from bot.services import build_services
from config.settings import Settings
from storage.db import Database, MigrationError, alembic_config, shipped_head
from storage.models import (
    Base,
    CalendarEvent,
    EventPost,
    FeedbackComment,
    FeedbackRating,
    QuestionGroup,
    UnansweredQuestion,
)
from tests.fakes import COORDINATOR, Conversation

REFERRING = (EventPost, FeedbackRating, FeedbackComment)
MIGRATION = """
from alembic import op

revision = "test_{name}"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
{body}


def downgrade() -> None:
    pass
"""
REBUILD = '    with op.batch_alter_table("calendar_events", recreate="always"):\n        pass'
BREAK = '    op.execute("DELETE FROM calendar_events")'


def extra_migration(folder: Path, name: str, body: str) -> Path:
    """A migration of the test's own, on top of the project's newest one."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    folder.mkdir()
    (folder / f"{name}.py").write_text(MIGRATION.format(name=name, head=head, body=body))
    return folder


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings.database_url)
    await database.upgrade()
    yield database
    await database.dispose()


async def fill(db: Database) -> None:
    """Two events, each with posts, ratings and comments."""
    now = datetime.now(UTC)
    async with db.transaction() as session:
        for n in (1, 2):
            event = CalendarEvent(title=f"Webinar {n}", starts_at=now, created_by="@c:localhost")
            session.add(event)
            await session.flush()
            for slot in ("1d", "start", "feedback"):
                session.add(
                    EventPost(
                        event_id=event.id,
                        slot=slot,
                        kind="reminder",
                        room_id="!r:localhost",
                        txn_id=f"txn-{n}-{slot}",
                        state="sent",
                        due_at=now,
                    )
                )
            for who in ("a", "b"):
                session.add(
                    FeedbackRating(
                        event_id=event.id, pseudonym=who, stars=4, source="command", updated_at=now
                    )
                )
                session.add(
                    FeedbackComment(event_id=event.id, pseudonym=who, text="gut", created_at=now)
                )


async def counts(db: Database) -> dict[str, int]:
    async with db.read() as session:
        return {
            model.__tablename__: await session.scalar(select(func.count()).select_from(model)) or 0
            for model in (CalendarEvent, *REFERRING)
        }


async def version(db: Database) -> str:
    async with db.engine.connect() as conn:
        return (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()


async def test_a_table_rebuild_keeps_every_referring_row(db: Database, tmp_path: Path) -> None:
    await fill(db)
    before = await counts(db)
    assert before == {
        "calendar_events": 2,
        "event_posts": 6,
        "feedback_ratings": 4,
        "feedback_comments": 4,
    }
    await db.upgrade([extra_migration(tmp_path / "versions", "rebuild", REBUILD)])
    assert await version(db) == "test_rebuild"
    assert await counts(db) == before
    async with db.engine.connect() as conn:  # the pragma is back on for the bot's work
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1


async def test_a_broken_reference_stops_the_upgrade_and_keeps_everything(
    db: Database, tmp_path: Path
) -> None:
    await fill(db)
    before, head = await counts(db), await version(db)
    with pytest.raises(MigrationError, match="broken reference"):
        await db.upgrade([extra_migration(tmp_path / "versions", "break", BREAK)])
    assert await counts(db) == before  # rolled back as a whole
    assert await version(db) == head
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1


async def test_a_start_at_the_newest_revision_leaves_the_database_alone(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert shipped_head() == script.get_current_head()  # files are named after their revision
    for revision in script.walk_revisions():
        assert Path(str(revision.path)).name.startswith(f"{revision.revision}_")
    assert await version(db) == shipped_head()
    with monkeypatch.context() as patch:
        patch.setattr("storage.db._upgrade", lambda *_: pytest.fail("migrated again"))
        await db.upgrade()
    async with db.engine.begin() as conn:
        await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "-1"))
    assert await version(db) != shipped_head()
    await db.upgrade()  # behind: migrated to the newest
    assert await version(db) == shipped_head()


async def test_the_models_match_the_migrations(db: Database) -> None:
    assert await differences(db) == []


async def differences(db: Database) -> list[object]:
    """What autogenerate would change to make the migrated schema match the models."""

    def compare(conn: Connection) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with db.engine.connect() as conn:
        return await conn.run_sync(compare)


async def test_stored_questions_are_grouped_by_the_migration_and_the_next_start(
    settings: Settings,
) -> None:
    await carried_over_questions_are_grouped(settings)


async def carried_over_questions_are_grouped(settings: Settings) -> None:
    """Questions from before 0005: the same wording shares a group at once, similar ones are
    merged at the next start, answered ones stay with their entry; numbers stay valid (also
    run on PostgreSQL by tests/integration/test_storage_postgres.py)."""
    db = Database(settings.database_url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0004"))
            asked = datetime(2026, 11, 1, tzinfo=UTC)
            for n, (question, entry) in enumerate(
                [
                    ("Gibt es einen Newsletter?", "faq-1"),  # answered before
                    ("Wann fährt der nächste Zug nach Hamburg?", None),
                    ("Wo parke ich beim Netzwerktreffen?", None),
                    ("wann fährt der nächste Zug nach Hamburg", None),  # same wording
                    ("Wann fährt der Zug nach Hamburg?", None),  # similar
                    ("Gibt es einen Newsletter", "faq-1"),
                ],
                start=1,
            ):
                await conn.execute(
                    text(
                        "INSERT INTO unanswered_questions (text, language, asked_at, "
                        "answered_entry) VALUES (:text, 'de', :at, :entry)"
                    ),  # ids 1, 2, ... in this order
                    {"text": question, "at": asked + timedelta(hours=n), "entry": entry},
                )
    finally:
        await db.dispose()
    services = await build_services(settings)
    try:
        async with services.db.read() as session:
            groups = (
                await session.execute(
                    select(
                        QuestionGroup.id,
                        QuestionGroup.asked_count,
                        QuestionGroup.state,
                        QuestionGroup.entry_id,
                    ).order_by(QuestionGroup.id)
                )
            ).all()
            members = list(
                await session.scalars(
                    select(UnansweredQuestion.group_id).order_by(UnansweredQuestion.id)
                )
            )
        assert [tuple(g) for g in groups] == [
            (1, 2, "answered", "faq-1"),
            (2, 3, "open", None),
            (3, 1, "open", None),
        ]
        assert members == [1, 2, 3, 2, 2, 1]
        chat = Conversation(build_dispatcher(services, flood=False))
        [listing] = await chat("!faq unbeantwortet", user=COORDINATOR)
        assert "#2 (3×) Wann fährt der nächste Zug nach Hamburg?" in listing
        await chat("!frage Wie hoch ist der Eiffelturm?")
        async with services.db.read() as session:
            newest = await session.scalar(select(func.max(QuestionGroup.id)))
        assert newest == 6  # number 5 went in the merge and is not given again
    finally:
        await services.db.dispose()
