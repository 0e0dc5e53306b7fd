"""The daily upkeep forgets handled marks older than any replay reaches back, no newer ones."""

from __future__ import annotations

from datetime import timedelta

from bot.core.housekeeping import forget_handled
from bot.services import Services
from storage.db import HANDLED_KEPT
from storage.models import HandledEvent


async def test_old_handled_marks_are_forgotten_recent_ones_kept(services: Services) -> None:
    now = services.clock()
    async with services.db.transaction() as session:
        session.add(
            HandledEvent(event_id="$old", handled_at=now - HANDLED_KEPT - timedelta(days=1))
        )
        session.add(HandledEvent(event_id="$recent", handled_at=now - timedelta(days=1)))
    await forget_handled(services, None)
    async with services.db.read() as session:
        assert await session.get(HandledEvent, "$old") is None
        assert await session.get(HandledEvent, "$recent") is not None
