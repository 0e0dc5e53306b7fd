"""A transient database fault (a lock held by another connection) delays, never loses."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import select

from bot.core.dispatcher import Dispatcher
from bot.core.messages import EventId, Reaction, RoomId, UserId
from bot.services import Services
from config.settings import Settings
from storage.models import HandledEvent, UserPrefs
from tests.fakes import MEMBER, Conversation

HOLD = 6.0  # seconds: longer than SQLite's busy timeout (5 s), so the first attempt fails


@contextmanager
def write_lock(settings: Settings) -> Iterator[sqlite3.Connection]:
    """Another process's connection holding the database's write lock."""
    path = settings.database_url.split("///", 1)[1]
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield holder
    finally:
        holder.rollback()
        holder.close()


async def test_a_command_during_a_lock_is_handled_after_it(
    chat: Conversation, services: Services, settings: Settings
) -> None:
    with write_lock(settings) as holder:
        loop = asyncio.get_running_loop()
        loop.call_later(HOLD, holder.rollback)
        replies = await chat("!sprache en")
    assert replies == ["Fine, from now on I will answer you in English."]
    async with services.db.read() as session:
        stored = await session.scalar(select(UserPrefs.language).where(UserPrefs.user_id == MEMBER))
    assert stored == "en"


async def test_a_reaction_during_a_lock_is_kept_and_marked_handled_after_it(
    dispatcher: Dispatcher, services: Services, settings: Settings
) -> None:
    reaction = Reaction(
        RoomId("!room:localhost"),
        UserId("@rater:localhost"),
        EventId("$reaction-during-lock"),
        EventId("$not-a-prompt"),
        "3️⃣",
        datetime.now(UTC),
    )
    with write_lock(settings) as holder:
        asyncio.get_running_loop().call_later(HOLD, holder.rollback)
        await dispatcher.handle_reaction(reaction)
    async with services.db.read() as session:
        assert await session.get(HandledEvent, reaction.event_id) is not None
