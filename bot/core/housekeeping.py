"""The framework's own upkeep: the handled marks of old events are forgotten."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from bot.core.commands import Router
from bot.core.services import Core
from storage.db import purge_handled

log = logging.getLogger(__name__)

router = Router()


@router.job("handled.purge", every=timedelta(days=1))
async def forget_handled(core: Core, _: Any) -> None:
    """Handled marks far older than any replay or catch-up reaches back are not needed."""
    async with core.db.transaction() as session:
        removed = await purge_handled(session, core.clock())
    if removed:
        log.info("forgot %d old handled event(s)", removed)
