"""The storage layer on a real PostgreSQL: migrations, bot state, handled events, preferences."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

import config
from bot.adapters.shell import run_shell
from bot.app import build_dispatcher
from bot.core.i18n import load_texts
from bot.core.messages import UserId
from bot.services import build_services
from config.settings import Settings
from storage.db import Database
from storage.models import HandledEvent, UserPrefs
from tests.fakes import COORDINATOR
from tests.unit.test_migrations import carried_over_questions_are_grouped, differences

from .postgres import LocalPostgres

pytestmark = pytest.mark.integration

MEMBER = UserId("@mitglied:localhost")


@pytest.fixture
def database_url(postgres: LocalPostgres) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    return postgres.create_database(f"test_{uuid.uuid4().hex[:12]}")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.upgrade()
    yield database
    await database.dispose()


async def test_upgrade_twice_is_harmless(database_url: str) -> None:
    database = Database(database_url)
    try:
        await database.upgrade()
        await database.set_state("sync_token", "s42")
        await database.upgrade()

        async with database.engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        assert {"bot_state", "handled_events", "user_prefs", "alembic_version"} <= set(tables)
        assert await database.get_state("sync_token") == "s42"
        assert await database.ping()
    finally:
        await database.dispose()


async def test_state_roundtrip(db: Database) -> None:
    assert await db.get_state("device_id") is None

    await db.set_state("device_id", "ABCDEFGH")
    await db.set_states(sync_token="s1_2_3", access_token="geheim")
    await db.set_state("sync_token", "s4_5_6")

    assert await db.get_state("device_id") == "ABCDEFGH"
    assert await db.get_state("access_token") == "geheim"
    assert await db.get_state("sync_token") == "s4_5_6"


async def test_an_event_is_recorded_as_handled_only_once(db: Database) -> None:
    event_id = f"${uuid.uuid4().hex}"
    async with db.transaction() as session:
        session.add(HandledEvent(event_id=event_id))

    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            session.add(HandledEvent(event_id=event_id))
    async with db.transaction() as session:
        await session.merge(HandledEvent(event_id=event_id))  # recording again is harmless

    async with db.read() as session:
        rows = (await session.scalars(select(HandledEvent))).all()
    assert [row.event_id for row in rows] == [event_id]
    assert rows[0].handled_at.tzinfo is not None


async def test_language_choice_in_the_shell_is_kept_in_postgres(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        store_path=tmp_path / "store",
        user_id="@bot:localhost",
        http_port=0,
    )

    first = await shell(settings, ["!sprache en", "!hilfe"])
    again = await shell(settings, ["!hilfe"])  # a new process on the same database

    texts, _ = load_texts(Path(config.__file__).parent / "texts.yaml")
    assert first[0]["replies"] == [texts.get("language.set", "en")]
    assert first[1]["replies"][0].startswith(texts.get("help.title", "en"))
    assert again[0]["replies"][0].startswith(texts.get("help.title", "en"))
    database = Database(database_url)
    try:
        async with database.read() as session:
            prefs = await session.get(UserPrefs, MEMBER)
    finally:
        await database.dispose()
    assert prefs is not None and prefs.language == "en"


async def test_migrated_schema_matches_the_models(db: Database) -> None:
    assert await differences(db) == []


async def test_question_groups_in_postgres(database_url: str, tmp_path: Path) -> None:
    """The 0005 data pass (explicit group ids, then the sequence moved past them) and the
    grouping at the next start, on PostgreSQL."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        store_path=tmp_path / "store",
        coordinators=[COORDINATOR],
        user_id="@bot:localhost",
        http_port=0,
    )
    await carried_over_questions_are_grouped(settings)


async def shell(settings: Settings, lines: list[str]) -> list[dict[str, list[str]]]:
    """Run `initiative-bot shell --json` over `lines`; one parsed JSON object per line."""
    services = await build_services(settings)
    output = io.StringIO()
    try:
        await run_shell(
            build_dispatcher(services, flood=False),
            MEMBER,
            coordinator=False,
            as_json=True,
            stdin=io.StringIO("".join(f"{line}\n" for line in lines)),
            stdout=output,
        )
    finally:
        await services.db.dispose()
    return [json.loads(line) for line in output.getvalue().splitlines()]
